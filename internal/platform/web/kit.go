// Package web holds what every module's handlers share: the page registry
// and renderer, flash messages, middleware, client IP and redirect rules.
package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// Kit is the shared web toolbox handed to each module.
type Kit struct {
	Renderer       *Renderer
	Log            *slog.Logger
	Clock          clock.Clock
	SecureCookies  bool
	TrustedProxies []netip.Prefix
	flashKey       []byte
}

// NewKit builds a Kit; secret signs flash cookies.
func NewKit(r *Renderer, log *slog.Logger, clk clock.Clock, secret []byte, secure bool, trusted []netip.Prefix) *Kit {
	return &Kit{Renderer: r, Log: log, Clock: clk, SecureCookies: secure, TrustedProxies: trusted, flashKey: secrets.Derive(secret, "simplemodule flash cookie")}
}

const flashCookie = "sm_flash"

// Render writes page with status. A failure to render is logged and becomes a 500.
func (k *Kit) Render(w http.ResponseWriter, r *http.Request, status int, page string, v View) {
	v.Viewer = ViewerFrom(r.Context())
	v.Path = r.URL.Path
	v.Now = k.Clock.Now()
	if v.Flash == "" {
		v.Flash = k.takeFlash(w, r)
	}
	body, err := k.Renderer.render(page, v)
	if err != nil {
		k.ServerError(w, r, err)
		return
	}
	defer release(body)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body.Bytes())
}

// Throttled renders page with 429, Retry-After in whole seconds and a
// message: v.Error, when set, says why (e.g. "A code was sent a moment
// ago."), and the page adds how long to wait.
func (k *Kit) Throttled(w http.ResponseWriter, r *http.Request, retryAfter time.Duration, page string, v View) {
	if v.Error == "" {
		v.Error = "Too many attempts."
	}
	v.Error += RetryAfter(w, retryAfter)
	k.Render(w, r, http.StatusTooManyRequests, page, v)
}

// RetryAfter sets the Retry-After header to wait in whole seconds (at
// least 1) and returns the sentence that tells a person how long that is,
// for any 429 answer, page or JSON.
func RetryAfter(w http.ResponseWriter, wait time.Duration) string {
	secs := max(int((wait+time.Second-1)/time.Second), 1)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	return " Please wait " + HumanDuration(time.Duration(secs)*time.Second) + " and try again."
}

// HumanDuration says d the way a person would, rounded up: "1 second",
// "45 seconds", "15 minutes", "1 hour", "24 hours". Used for lifetimes in
// messages and for how long to wait.
func HumanDuration(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case secs < 120:
		return plural(max(secs, 1), "second")
	case secs%3600 == 0:
		return plural(secs/3600, "hour")
	default:
		return plural((secs+59)/60, "minute")
	}
}

// ServerError logs err with the request id and shows the styled 500 page,
// which shows the request id too, so a user can quote it and an operator
// find the log line. The error itself stays in the log.
func (k *Kit) ServerError(w http.ResponseWriter, r *http.Request, err error) {
	k.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "request_id", RequestID(r.Context()), "err", err)
	k.errorPage(w, r, errorPage{Status: http.StatusInternalServerError, RequestID: RequestID(r.Context())})
}

// Redirect answers 303 See Other to target with an optional flash message.
func (k *Kit) Redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if flash != "" {
		k.SetFlash(w, flash)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// SetFlash stores a one-time message shown by the next rendered page.
func (k *Kit) SetFlash(w http.ResponseWriter, msg string) {
	val := base64.RawURLEncoding.EncodeToString([]byte(msg))
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: val + "." + k.sign(val), Path: "/", HttpOnly: true, Secure: k.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func (k *Kit) sign(v string) string {
	m := hmac.New(sha256.New, k.flashKey)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (k *Kit) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", HttpOnly: true, Secure: k.SecureCookies, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	val, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(k.sign(val))) {
		return ""
	}
	msg, err := base64.RawURLEncoding.DecodeString(val)
	if err != nil {
		return ""
	}
	return string(msg)
}

// unknownClient is what ClientIP says when a forwarded hop at the client's
// position could not be read: never an address, so never loopback or a
// trusted proxy, and readable in audit rows.
const unknownClient = "unknown"

// ClientIP is the peer address, or — when the peer is a trusted proxy — the
// rightmost X-Forwarded-For hop that is not itself a trusted proxy. Hops may
// carry a port ("203.0.113.5:4444", "[2001:db8::1]:443") as some proxies
// write them. A hop that is no address at all (garbage, an empty entry, a
// host name) is where the trusted chain ends, so the client is that hop:
// ClientIP then answers "unknown", which parses as no address, so pages kept
// to loopback stay closed; falling back to the proxy's own address instead
// would make every such client loopback or one shared rate-limit bucket.
func (k *Kit) ClientIP(r *http.Request) string {
	c := k.client(r)
	switch {
	case c.addr.IsValid():
		return c.addr.String()
	case c.unreadable != "":
		return unknownClient
	}
	return r.RemoteAddr
}

// RateKey is the client address a per-IP limit counts against: the address
// itself for IPv4, its /64 network for IPv6 (one subscriber commonly holds a
// whole /64, so per-address limits would be no limit at all).
//
// An unreadable forwarded hop counts against a key made from that hop's
// text: one shared "unknown" key would let one client lock out everyone
// whose proxy writes garbage, and a client that can choose the text already
// chooses its forwarded address (the proxy passed its header on unchecked),
// so the hash gives it no new way around a limit.
func (k *Kit) RateKey(r *http.Request) string {
	c := k.client(r)
	switch {
	case c.addr.Is4():
		return c.addr.String()
	case c.addr.IsValid():
		p, err := c.addr.Prefix(64)
		if err != nil {
			return c.addr.String()
		}
		return p.String()
	case c.unreadable != "":
		sum := sha256.Sum256([]byte(c.unreadable))
		return unknownClient + ":" + hex.EncodeToString(sum[:8])
	}
	return r.RemoteAddr
}

// client is who sent a request as far as the trusted proxies can tell: an
// address, or the text of the unreadable hop at the client's position (then
// addr is invalid). Both are empty when the peer address itself does not
// parse (no TCP peer, as in some tests).
type client struct {
	addr       netip.Addr
	unreadable string
}

func (k *Kit) client(r *http.Request) client {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return client{}
	}
	ip := peer.Addr().Unmap().WithZone("")
	if !k.trusted(ip) {
		return client{addr: ip}
	}
	// A proxy may add its own header line instead of appending to the
	// client's, so every line counts, in order. A line with nothing in it
	// names no hop (the same as no header: the request came from the proxy).
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		if strings.TrimSpace(line) != "" {
			hops = append(hops, strings.Split(line, ",")...)
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, ok := parseHop(hop)
		if !ok {
			if hop == "" {
				hop = "(empty)"
			}
			return client{unreadable: hop}
		}
		if !k.trusted(a) {
			return client{addr: a}
		}
		ip = a
	}
	return client{addr: ip}
}

// parseHop reads one X-Forwarded-For entry: an address, with or without a
// port, IPv6 with or without brackets. IPv4-mapped IPv6 becomes IPv4 and a
// zone is dropped, so one client has one spelling.
func parseHop(hop string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(hop)
	if err != nil {
		if ap, err := netip.ParseAddrPort(hop); err == nil {
			a = ap.Addr()
		} else if inner, ok := strings.CutPrefix(hop, "["); ok && strings.HasSuffix(inner, "]") {
			if a, err = netip.ParseAddr(strings.TrimSuffix(inner, "]")); err != nil || !a.Is6() {
				return netip.Addr{}, false
			}
		} else {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

func (k *Kit) trusted(ip netip.Addr) bool {
	for _, p := range k.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// RedirectToSignIn answers an anonymous request for a signed-in page with
// 303 to the sign-in page, which returns to back afterwards. A GET returns
// to itself (query included); a form cannot be replayed, so other methods
// return to back.
func RedirectToSignIn(w http.ResponseWriter, r *http.Request, back string) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		back = r.URL.Path
		if r.URL.RawQuery != "" {
			back += "?" + r.URL.RawQuery
		}
	}
	http.Redirect(w, r, "/account/login?return_url="+url.QueryEscape(back), http.StatusSeeOther)
}

// SafeReturnURL returns raw when it is a path on this site, otherwise fallback.
// It refuses absolute URLs, scheme-relative "//host" and backslash tricks.
func SafeReturnURL(raw, fallback string) string {
	if raw == "" || !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, "\\\r\n\t") {
		return fallback
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return raw
}
