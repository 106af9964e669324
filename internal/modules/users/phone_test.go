package users_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
)

// Integration tests for phone number confirmation (SPEC §1, §3, §4, §6),
// through HTTP against a real database.

const (
	phonePagePath    = "/account/manage/phone"
	phoneSendPath    = "/account/manage/send-phone-verification-code"
	phoneConfirmPath = "/account/manage/confirm-phone-number"
	phoneRemovePath  = "/account/manage/remove-phone-number"
	phoneManagePath  = "/account/manage"

	phoneNumberA = "+14155550132"
	phoneNumberB = "+14155550143"

	phonePassword = password
)

// phoneSignUp registers addr on a fresh client, which stays signed in.
func phoneSignUp(e *apptest.Env, addr string) *apptest.Client {
	e.T.Helper()
	c := e.NewClient()
	c.Register(addr, phonePassword)
	return c
}

func phoneSend(c *apptest.Client, number string) *apptest.Response {
	return c.Post(phoneSendPath, url.Values{"phone_number": {number}})
}

func phoneConfirm(c *apptest.Client, number, code string) *apptest.Response {
	return c.Post(phoneConfirmPath, url.Values{"phone_number": {number}, "code": {code}})
}

// phoneTestID is apptest.TestID with HTML entities decoded: html/template
// writes "+" as "&#43;".
func phoneTestID(body, id string) (string, bool) {
	text, ok := apptest.TestID(body, id)
	return html.UnescapeString(text), ok
}

var phoneInputValueRE = regexp.MustCompile(`<input[^>]*data-testid="phone-input"[^>]*>`)
var phoneValueAttrRE = regexp.MustCompile(`value="([^"]*)"`)

// phoneInputValue returns the value of the phone number field.
func phoneInputValue(body string) string {
	tag := phoneInputValueRE.FindString(body)
	m := phoneValueAttrRE.FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

var phoneE164AttrRE = regexp.MustCompile(`data-e164="([^"]*)"`)

// phoneShown returns the E.164 number of the element with data-testid id
// (its data-e164 attribute, "" when absent) and fails the test unless the
// element shows it in international format, as people read it.
func phoneShown(t *testing.T, body, id string) string {
	t.Helper()
	text, ok := phoneTestID(body, id)
	if !ok {
		return ""
	}
	tag := regexp.MustCompile(`<[^>]*data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
	m := phoneE164AttrRE.FindStringSubmatch(tag)
	if m == nil {
		t.Errorf("%s: got no data-e164 attribute in %s, want the number in E.164", id, tag)
		return text
	}
	e164 := html.UnescapeString(m[1])
	if want := phone.FormatInternational(e164); text != want || want == e164 {
		t.Errorf("%s: got text %q for %s, want the international format %q", id, text, e164, want)
	}
	return e164
}

// phoneWantStatus fails the test unless res has status want.
func phoneWantStatus(t *testing.T, what string, res *apptest.Response, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: got status %d, want %d; body: %s", what, res.Status, want, apptest.Excerpt(res.Body))
	}
}

// phoneWantRefused checks a 422 page with a visible form error.
func phoneWantRefused(t *testing.T, what string, res *apptest.Response) {
	t.Helper()
	phoneWantStatus(t, what, res, http.StatusUnprocessableEntity)
	if msg, ok := phoneTestID(res.Body, "form-error"); !ok || msg == "" {
		t.Errorf("%s: got no form-error message, want one", what)
	}
}

// phoneWantThrottled checks a 429 with Retry-After in [lo, hi] seconds and
// returns the Retry-After value.
func phoneWantThrottled(t *testing.T, what string, res *apptest.Response, lo, hi int) int {
	t.Helper()
	phoneWantStatus(t, what, res, http.StatusTooManyRequests)
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil {
		t.Fatalf("%s: Retry-After: got %q, want whole seconds", what, res.Header.Get("Retry-After"))
	}
	if ra < lo || ra > hi {
		t.Errorf("%s: Retry-After: got %d, want between %d and %d", what, ra, lo, hi)
	}
	if msg, ok := phoneTestID(res.Body, "form-error"); !ok || !strings.Contains(msg, "wait") {
		t.Errorf("%s: got message %q, want one saying how long to wait", what, msg)
	}
	return ra
}

// phoneState reads the number and badge shown on the phone page.
func phoneState(t *testing.T, c *apptest.Client) (number, status string) {
	t.Helper()
	res := c.Get(phonePagePath)
	phoneWantStatus(t, "GET phone page", res, http.StatusOK)
	number = phoneShown(t, res.Body, "phone-number")
	status, _ = phoneTestID(res.Body, "phone-status")
	return number, status
}

// phoneWant checks the number and badge on both the phone page and the
// profile page.
func phoneWant(t *testing.T, c *apptest.Client, wantNumber, wantBadge string) {
	t.Helper()
	number, status := phoneState(t, c)
	if number != wantNumber || status != wantBadge {
		t.Errorf("phone page: got %q %q, want %q %q", number, status, wantNumber, wantBadge)
	}
	res := c.Get(phoneManagePath)
	phoneWantStatus(t, "GET profile", res, http.StatusOK)
	number = phoneShown(t, res.Body, "phone-number")
	status, _ = phoneTestID(res.Body, "phone-status")
	if number != wantNumber || status != wantBadge {
		t.Errorf("profile page: got %q %q, want %q %q", number, status, wantNumber, wantBadge)
	}
}

// phoneVerify sends a code to number and confirms it.
func phoneVerify(t *testing.T, e *apptest.Env, c *apptest.Client, number string) {
	t.Helper()
	phoneWantStatus(t, "send code to "+number, phoneSend(c, number), http.StatusSeeOther)
	phoneWantStatus(t, "confirm "+number, phoneConfirm(c, number, e.LastCode(number)), http.StatusSeeOther)
}

// phoneOtherCode returns a well-formed code that is not code.
func phoneOtherCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

func phoneSMSCount(e *apptest.Env) int { return len(e.SMS.Messages()) }

func phoneAudit(e *apptest.Env, action string) int {
	e.T.Helper()
	return e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1`, action)
}

func phoneUserID(t *testing.T, e *apptest.Env, addr string) string {
	t.Helper()
	var id string
	if err := e.App.DB.QueryRow(`SELECT id FROM users WHERE email = $1`, addr).Scan(&id); err != nil {
		t.Fatalf("user id of %s: %v", addr, err)
	}
	return id
}

func TestPhoneHappyPath(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")

		res := c.Get(phonePagePath)
		phoneWantStatus(t, "GET phone page", res, http.StatusOK)
		if _, ok := phoneTestID(res.Body, "no-phone"); !ok {
			t.Errorf("phone page before any number: got no no-phone marker, want one")
		}
		if strings.Contains(res.Body, `data-testid="code-form"`) {
			t.Errorf("phone page before sending: got a code form, want none")
		}

		phoneWantStatus(t, "send", phoneSend(c, "(415) 555-0132"), http.StatusSeeOther)
		msgs := e.SMS.Messages()
		if len(msgs) != 1 {
			t.Fatalf("SMS sent: got %d, want 1", len(msgs))
		}
		if msgs[0].To != phoneNumberA {
			t.Errorf("SMS recipient: got %q, want %q", msgs[0].To, phoneNumberA)
		}
		code := e.LastCode(phoneNumberA)
		lines := strings.Split(msgs[0].Body, "\n")
		wantFirst := "Your SimpleModule verification code is " + code + ". It expires in 10 minutes. Don't share it."
		if lines[0] != wantFirst {
			t.Errorf("SMS first line: got %q, want %q", lines[0], wantFirst)
		}
		u, err := url.Parse(e.Config.BaseURL)
		if err != nil {
			t.Fatal(err)
		}
		if wantLast := "@" + u.Hostname() + " #" + code; lines[len(lines)-1] != wantLast {
			t.Errorf("SMS last line: got %q, want %q", lines[len(lines)-1], wantLast)
		}
		if u.Hostname() != "127.0.0.1" {
			t.Errorf("BaseURL host: got %q, want 127.0.0.1", u.Hostname())
		}

		// While the code is pending the page offers the code form, made for
		// one-time-code autofill on phones.
		res = c.Get(phonePagePath)
		phoneWantStatus(t, "GET phone page while waiting", res, http.StatusOK)
		if !strings.Contains(res.Body, `data-testid="code-form"`) {
			t.Fatalf("phone page while waiting: got no code form, want one")
		}
		form := html.UnescapeString(res.Body[strings.Index(res.Body, `data-testid="code-form"`):])
		for _, attr := range []string{`inputmode="numeric"`, `autocomplete="one-time-code"`, `name="code"`, `value="` + phoneNumberA + `"`} {
			if !strings.Contains(form, attr) {
				t.Errorf("code form: got no %s, want it", attr)
			}
		}
		if got := phoneShown(t, res.Body, "pending-number"); got != phoneNumberA {
			t.Errorf("pending number: got %q, want %q", got, phoneNumberA)
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE phone_number IS NOT NULL`); n != 0 {
			t.Errorf("users with a number before confirming: got %d, want 0", n)
		}

		phoneWantStatus(t, "confirm", phoneConfirm(c, phoneNumberA, code), http.StatusSeeOther)
		phoneWant(t, c, phoneNumberA, "Verified")
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE phone_number = $1 AND phone_number_confirmed`, phoneNumberA); n != 1 {
			t.Errorf("confirmed rows for %s: got %d, want 1", phoneNumberA, n)
		}
		if strings.Contains(c.Get(phonePagePath).Body, `data-testid="code-form"`) {
			t.Errorf("phone page after confirming: got a code form, want none")
		}
		e.Clock.Advance(61 * time.Second)
		phoneWantStatus(t, "send to the verified number", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		if got := phoneSMSCount(e); got != 1 {
			t.Errorf("SMS sent after asking again for a verified number: got %d, want 1", got)
		}
		phoneWant(t, c, phoneNumberA, "Verified")
	})
}

func TestPhoneConfirmRefused(t *testing.T) {
	tests := []struct {
		name string
		// submit runs after a code was sent to phoneNumberA and returns what to
		// post to the confirm route.
		submit    func(t *testing.T, e *apptest.Env, c *apptest.Client) (number, code string)
		wantBadge string // after the refusal; "" = no number stored
	}{
		{
			name: "wrong code",
			submit: func(t *testing.T, e *apptest.Env, c *apptest.Client) (string, string) {
				return phoneNumberA, phoneOtherCode(e.LastCode(phoneNumberA))
			},
		},
		{
			name: "not six digits",
			submit: func(t *testing.T, e *apptest.Env, c *apptest.Client) (string, string) {
				return phoneNumberA, e.LastCode(phoneNumberA)[:5]
			},
		},
		{
			name: "expired code",
			submit: func(t *testing.T, e *apptest.Env, c *apptest.Client) (string, string) {
				code := e.LastCode(phoneNumberA) // delivered while fresh
				e.Clock.Advance(10*time.Minute + time.Second)
				return phoneNumberA, code
			},
		},
		{
			name: "code sent to another number",
			submit: func(t *testing.T, e *apptest.Env, c *apptest.Client) (string, string) {
				return phoneNumberB, e.LastCode(phoneNumberA)
			},
		},
		{
			name: "code replaced by a newer one",
			submit: func(t *testing.T, e *apptest.Env, c *apptest.Client) (string, string) {
				old := e.LastCode(phoneNumberA)
				e.Clock.Advance(61 * time.Second)
				phoneWantStatus(t, "second send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
				if e.LastCode(phoneNumberA) == old {
					t.Skip("the new code equals the old one by chance (1 in a million)")
				}
				return phoneNumberA, old
			},
		},
		{
			name: "code already used",
			submit: func(t *testing.T, e *apptest.Env, c *apptest.Client) (string, string) {
				code := e.LastCode(phoneNumberA)
				phoneWantStatus(t, "first use", phoneConfirm(c, phoneNumberA, code), http.StatusSeeOther)
				return phoneNumberA, code
			},
			wantBadge: "Verified",
		},
	}
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := apptest.Start(t, db, nil)
				c := phoneSignUp(e, "ann@example.com")
				phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
				number, code := tt.submit(t, e, c)
				confirmed := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'phone.confirmed'`)

				phoneWantRefused(t, "confirm", phoneConfirm(c, number, code))

				wantNumber := ""
				if tt.wantBadge != "" {
					wantNumber = phoneNumberA
				}
				phoneWant(t, c, wantNumber, tt.wantBadge)
				if got := phoneAudit(e, "phone.confirmed"); got != confirmed {
					t.Errorf("phone.confirmed audit rows: got %d, want %d", got, confirmed)
				}
			})
		}
	})
}

func TestPhoneNewCodeReplacesOld(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		phoneWantStatus(t, "first send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		old := e.LastCode(phoneNumberA)
		e.Clock.Advance(61 * time.Second)
		phoneWantStatus(t, "second send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		fresh := e.LastCode(phoneNumberA)
		if fresh == old {
			t.Skip("the new code equals the old one by chance (1 in a million)")
		}
		phoneWantRefused(t, "old code", phoneConfirm(c, phoneNumberA, old))
		phoneWantStatus(t, "new code", phoneConfirm(c, phoneNumberA, fresh), http.StatusSeeOther)
		phoneWant(t, c, phoneNumberA, "Verified")
	})
}

func TestPhoneCodeBurnedAfterMaxAttempts(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		// A lockout looser than the attempt limit, so the burn shows alone.
		e := apptest.Start(t, db, func(c *config.Config) {
			c.PhoneLockout = config.Lockout{Failures: 10, Window: 15 * time.Minute, Duration: 15 * time.Minute}
		})
		c := phoneSignUp(e, "ann@example.com")
		phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		code := e.LastCode(phoneNumberA)
		for i := 1; i <= 5; i++ {
			phoneWantRefused(t, fmt.Sprintf("wrong code %d", i), phoneConfirm(c, phoneNumberA, phoneOtherCode(code)))
		}
		res := phoneConfirm(c, phoneNumberA, code)
		phoneWantRefused(t, "right code after 5 wrong ones", res)
		phoneWant(t, c, "", "")
		if strings.Contains(c.Get(phonePagePath).Body, `data-testid="code-form"`) {
			t.Errorf("phone page with a burned code: got a code form, want none")
		}

		// Not a lockout: a new code works.
		e.Clock.Advance(61 * time.Second)
		phoneWantStatus(t, "send after burn", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		phoneWantStatus(t, "confirm new code", phoneConfirm(c, phoneNumberA, e.LastCode(phoneNumberA)), http.StatusSeeOther)
		phoneWant(t, c, phoneNumberA, "Verified")
	})
}

func TestPhoneLockout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil) // defaults: 5 failures in 15m lock for 15m
		c := phoneSignUp(e, "ann@example.com")
		phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		code := e.LastCode(phoneNumberA)
		for i := 1; i <= 4; i++ {
			phoneWantRefused(t, fmt.Sprintf("wrong code %d", i), phoneConfirm(c, phoneNumberA, phoneOtherCode(code)))
		}
		phoneWantThrottled(t, "5th wrong code", phoneConfirm(c, phoneNumberA, phoneOtherCode(code)), 900, 900)
		phoneWantThrottled(t, "right code while locked", phoneConfirm(c, phoneNumberA, code), 900, 900)
		phoneWantThrottled(t, "new code while locked", phoneSend(c, phoneNumberA), 900, 900)
		phoneWantThrottled(t, "new code to another number while locked", phoneSend(c, phoneNumberB), 900, 900)
		if got := phoneSMSCount(e); got != 1 {
			t.Errorf("SMS sent: got %d, want 1", got)
		}

		e.Clock.Advance(15*time.Minute - time.Second)
		phoneWantThrottled(t, "one second before the lock ends", phoneSend(c, phoneNumberA), 1, 1)

		e.Clock.Advance(time.Second)
		phoneWantStatus(t, "send after the lock", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		phoneWantStatus(t, "confirm after the lock", phoneConfirm(c, phoneNumberA, e.LastCode(phoneNumberA)), http.StatusSeeOther)
		phoneWant(t, c, phoneNumberA, "Verified")
	})
}

func TestPhoneResendCooldown(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		phoneWantStatus(t, "first send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		phoneWantThrottled(t, "resend at once", phoneSend(c, phoneNumberA), 1, 60)
		res := c.Get(phonePagePath)
		if !strings.Contains(res.Body, `data-testid="resend-wait"`) {
			t.Errorf("phone page inside the cooldown: got no resend-wait, want it")
		}
		e.Clock.Advance(30 * time.Second)
		phoneWantThrottled(t, "resend after 30s", phoneSend(c, phoneNumberA), 30, 30)
		phoneWantThrottled(t, "send to another number after 30s", phoneSend(c, phoneNumberB), 30, 30)
		// Removing the number drops the pending code, but not the cooldown.
		phoneWantStatus(t, "remove", c.Post(phoneRemovePath, nil), http.StatusSeeOther)
		phoneWantThrottled(t, "send after removing", phoneSend(c, phoneNumberA), 30, 30)
		if got := phoneSMSCount(e); got != 1 {
			t.Errorf("SMS sent inside the cooldown: got %d, want 1", got)
		}
		e.Clock.Advance(31 * time.Second)
		phoneWantStatus(t, "resend after 61s", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		if got := phoneSMSCount(e); got != 2 {
			t.Errorf("SMS sent: got %d, want 2", got)
		}
	})
}

func TestPhoneSendsPerNumberCap(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		var clients []*apptest.Client
		for i := range 6 {
			clients = append(clients, phoneSignUp(e, fmt.Sprintf("user%d@example.com", i)))
		}
		for i, c := range clients[:5] {
			phoneWantStatus(t, fmt.Sprintf("send %d", i+1), phoneSend(c, phoneNumberA), http.StatusSeeOther)
			e.Clock.Advance(time.Minute)
		}
		// The oldest send was 5 minutes ago: 55 minutes to wait.
		phoneWantThrottled(t, "6th send to the number", phoneSend(clients[5], phoneNumberA), 55*60, 55*60)
		if got := phoneSMSCount(e); got != 5 {
			t.Errorf("SMS sent: got %d, want 5", got)
		}
		phoneWantStatus(t, "6th user, other number", phoneSend(clients[5], phoneNumberB), http.StatusSeeOther)

		// One user, cooldown respected, counts against the same cap.
		e.Clock.Advance(time.Hour + time.Second)
		c := clients[0]
		for i := range 5 {
			phoneWantStatus(t, fmt.Sprintf("one user, send %d", i+1), phoneSend(c, phoneNumberB), http.StatusSeeOther)
			e.Clock.Advance(61 * time.Second)
		}
		phoneWantThrottled(t, "one user, 6th send", phoneSend(c, phoneNumberB), 1, 3600)
	})
}

func TestPhoneSendsPerIPCap(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.PhoneSendsPerNumber = 0 })
		var clients []*apptest.Client
		for i := range 4 {
			clients = append(clients, phoneSignUp(e, fmt.Sprintf("user%d@example.com", i)))
		}
		for round := range 5 {
			for i, c := range clients {
				phoneWantStatus(t, fmt.Sprintf("round %d user %d", round, i), phoneSend(c, phoneNumberA), http.StatusSeeOther)
			}
			e.Clock.Advance(61 * time.Second)
		}
		if got := phoneSMSCount(e); got != 20 {
			t.Fatalf("SMS sent: got %d, want 20", got)
		}
		// 5×61s have passed since the first send.
		phoneWantThrottled(t, "21st send from the IP", phoneSend(clients[0], phoneNumberB), 3600-5*61, 3600-5*61)
		fresh := phoneSignUp(e, "late@example.com")
		phoneWantThrottled(t, "a new user from the same IP", phoneSend(fresh, phoneNumberB), 1, 3600)
		if got := phoneSMSCount(e); got != 20 {
			t.Errorf("SMS sent: got %d, want 20", got)
		}
		e.Clock.Advance(time.Hour - 5*61*time.Second)
		phoneWantStatus(t, "send after the hour", phoneSend(fresh, phoneNumberB), http.StatusSeeOther)
	})
}

// The per-IP cap counts an IPv6 client's whole /64.
func TestPerIPCapGroupsIPv6By64(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			c.PhoneSendsPerIP, c.PhoneSendsPerNumber = 2, 0
		})
		send := func(i int, from string) int {
			c := e.NewClient()
			c.Register("v6-"+strconv.Itoa(i)+"@example.com", password)
			req, _ := http.NewRequest(http.MethodPost, e.URL+"/account/manage/send-phone-verification-code",
				strings.NewReader(url.Values{"phone_number": {"+1415555" + strconv.Itoa(1000+i)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("X-Forwarded-For", from)
			return c.Do(req).Status
		}
		got := []int{send(1, "2001:db8::1"), send(2, "2001:db8::2"), send(3, "2001:db8::ffff"), send(4, "2001:db8:0:1::1")}
		want := []int{http.StatusSeeOther, http.StatusSeeOther, http.StatusTooManyRequests, http.StatusSeeOther}
		if !slices.Equal(got, want) {
			t.Errorf("answers: got %v, want %v (the third address shares the first two's /64; the fourth does not)", got, want)
		}
	})
}

func TestPhoneRefusedNumbers(t *testing.T) {
	tests := []struct {
		name, input string
	}{
		{name: "invalid", input: "123"},
		{name: "letters", input: "call me maybe"},
		{name: "premium rate", input: "+1 900 234 5678"},
		{name: "shared cost", input: "+49 180 12345"},
		{name: "country outside the allow list", input: "+44 7400 123456"},
	}
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.SMSAllowedCountries = []string{"US", "CA"} })
		c := phoneSignUp(e, "ann@example.com")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := phoneSend(c, tt.input)
				phoneWantRefused(t, "send to "+tt.input, res)
				if got := phoneInputValue(res.Body); got != tt.input {
					t.Errorf("number field: got %q, want the input %q kept", got, tt.input)
				}
				if strings.Contains(res.Body, `data-testid="code-form"`) {
					t.Errorf("refused number: got a code form, want none")
				}
			})
		}
		if got := phoneSMSCount(e); got != 0 {
			t.Errorf("SMS sent: got %d, want 0", got)
		}
		for table, query := range map[string]string{
			"phone_codes":               `SELECT COUNT(*) FROM phone_codes`,
			"rate_events (phone sends)": `SELECT COUNT(*) FROM rate_events WHERE bucket LIKE 'phone-%'`,
		} {
			if got := e.Count(query); got != 0 {
				t.Errorf("%s rows: got %d, want 0", table, got)
			}
		}
		if got := phoneAudit(e, "phone.code_sent"); got != 0 {
			t.Errorf("phone.code_sent audit rows: got %d, want 0", got)
		}
		// The allow list still lets a US number through.
		phoneWantStatus(t, "send to an allowed number", phoneSend(c, phoneNumberA), http.StatusSeeOther)
	})
}

func TestPhoneProfileEdit(t *testing.T) {
	tests := []struct {
		name       string
		change     func(t *testing.T, e *apptest.Env, c *apptest.Client) // after phoneNumberA was verified
		wantNumber string
		wantBadge  string
	}{
		{
			name: "editing to another number resets the badge",
			change: func(t *testing.T, e *apptest.Env, c *apptest.Client) {
				res := c.Post(phoneManagePath, url.Values{"display_name": {"Ann"}, "phone_number": {"(415) 555-0143"}})
				phoneWantStatus(t, "save profile", res, http.StatusSeeOther)
			},
			wantNumber: phoneNumberB, wantBadge: "Unverified",
		},
		{
			name: "saving the same number keeps the badge",
			change: func(t *testing.T, e *apptest.Env, c *apptest.Client) {
				res := c.Post(phoneManagePath, url.Values{"display_name": {"Ann"}, "phone_number": {"(415) 555-0132"}})
				phoneWantStatus(t, "save profile", res, http.StatusSeeOther)
			},
			wantNumber: phoneNumberA, wantBadge: "Verified",
		},
		{
			name: "an invalid number changes nothing",
			change: func(t *testing.T, e *apptest.Env, c *apptest.Client) {
				phoneWantRefused(t, "save profile", c.Post(phoneManagePath, url.Values{"display_name": {"Ann"}, "phone_number": {"123"}}))
			},
			wantNumber: phoneNumberA, wantBadge: "Verified",
		},
		{
			name: "confirming a new number replaces the old one",
			change: func(t *testing.T, e *apptest.Env, c *apptest.Client) {
				e.Clock.Advance(61 * time.Second)
				phoneVerify(t, e, c, phoneNumberB)
			},
			wantNumber: phoneNumberB, wantBadge: "Verified",
		},
		{
			name: "a failed change keeps the old verified number",
			change: func(t *testing.T, e *apptest.Env, c *apptest.Client) {
				e.Clock.Advance(61 * time.Second)
				phoneWantStatus(t, "send to the new number", phoneSend(c, phoneNumberB), http.StatusSeeOther)
				res := phoneConfirm(c, phoneNumberB, phoneOtherCode(e.LastCode(phoneNumberB)))
				phoneWantRefused(t, "wrong code for the new number", res)
				if got, _ := phoneTestID(res.Body, "phone-status"); got != "Verified" {
					t.Errorf("badge on the refusal page: got %q, want Verified", got)
				}
			},
			wantNumber: phoneNumberA, wantBadge: "Verified",
		},
		{
			name: "an expired code for a new number keeps the old verified number",
			change: func(t *testing.T, e *apptest.Env, c *apptest.Client) {
				e.Clock.Advance(61 * time.Second)
				phoneWantStatus(t, "send to the new number", phoneSend(c, phoneNumberB), http.StatusSeeOther)
				code := e.LastCode(phoneNumberB) // delivered while fresh
				e.Clock.Advance(11 * time.Minute)
				phoneWantRefused(t, "expired code for the new number", phoneConfirm(c, phoneNumberB, code))
			},
			wantNumber: phoneNumberA, wantBadge: "Verified",
		},
	}
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := apptest.Start(t, db, nil)
				c := phoneSignUp(e, "ann@example.com")
				phoneVerify(t, e, c, phoneNumberA)
				tt.change(t, e, c)
				phoneWant(t, c, tt.wantNumber, tt.wantBadge)
				confirmed := tt.wantBadge == "Verified"
				if n := e.Count(`SELECT COUNT(*) FROM users WHERE phone_number = $1 AND phone_number_confirmed = $2`, tt.wantNumber, confirmed); n != 1 {
					t.Errorf("users with %s confirmed=%v: got %d, want 1", tt.wantNumber, confirmed, n)
				}
			})
		}
	})
}

func TestPhoneRemove(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		phoneVerify(t, e, c, phoneNumberA)

		res := c.Get(phonePagePath)
		if !strings.Contains(res.Body, `data-testid="remove-phone"`) || strings.Contains(res.Body, `data-testid="remove-confirm"`) {
			t.Errorf("phone page: got remove link %v, confirm button %v; want link only",
				strings.Contains(res.Body, `data-testid="remove-phone"`), strings.Contains(res.Body, `data-testid="remove-confirm"`))
		}
		res = c.Get(phonePagePath + "?remove=confirm")
		phoneWantStatus(t, "GET remove confirmation", res, http.StatusOK)
		if !strings.Contains(res.Body, `data-testid="remove-confirm"`) {
			t.Errorf("remove confirmation step: got no remove-confirm button, want one")
		}
		if !strings.Contains(res.Body, `action="`+phoneRemovePath+`"`) {
			t.Errorf("remove confirmation step: got no form posting to %s, want one", phoneRemovePath)
		}
		phoneWant(t, c, phoneNumberA, "Verified") // looking at the step removes nothing

		phoneWantStatus(t, "remove", c.Post(phoneRemovePath, nil), http.StatusSeeOther)
		phoneWant(t, c, "", "")
		res = c.Get(phonePagePath)
		if _, ok := phoneTestID(res.Body, "no-phone"); !ok {
			t.Errorf("phone page after removing: got no no-phone marker, want one")
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE phone_number IS NULL AND phone_number_confirmed = $1`, false); n != 1 {
			t.Errorf("users with no number and no confirmation: got %d, want 1", n)
		}
		if n := phoneAudit(e, "phone.removed"); n != 1 {
			t.Errorf("phone.removed audit rows: got %d, want 1", n)
		}

		// A code pending when the number is removed no longer works.
		e.Clock.Advance(61 * time.Second)
		phoneWantStatus(t, "send", phoneSend(c, phoneNumberB), http.StatusSeeOther)
		phoneWantStatus(t, "remove with a code pending", c.Post(phoneRemovePath, nil), http.StatusSeeOther)
		if strings.Contains(c.Get(phonePagePath).Body, `data-testid="code-form"`) {
			t.Errorf("phone page after removing: got a code form, want none")
		}
		phoneWantRefused(t, "confirm the code pending at removal", phoneConfirm(c, phoneNumberB, e.LastCode(phoneNumberB)))
		phoneWant(t, c, "", "")
	})
}

func TestPhoneAnonymous(t *testing.T) {
	tests := []struct {
		name, method, path string
		wantReturn         string
	}{
		{name: "phone page", method: http.MethodGet, path: phonePagePath, wantReturn: phonePagePath},
		{name: "remove confirmation", method: http.MethodGet, path: phonePagePath + "?remove=confirm", wantReturn: phonePagePath + "?remove=confirm"},
		{name: "send code", method: http.MethodPost, path: phoneSendPath, wantReturn: phoneManagePath},
		{name: "confirm code", method: http.MethodPost, path: phoneConfirmPath, wantReturn: phoneManagePath},
		{name: "remove number", method: http.MethodPost, path: phoneRemovePath, wantReturn: phoneManagePath},
	}
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var res *apptest.Response
				if tt.method == http.MethodGet {
					res = c.Get(tt.path)
				} else {
					res = c.Post(tt.path, url.Values{"phone_number": {phoneNumberA}, "code": {"123456"}})
				}
				phoneWantStatus(t, tt.method+" "+tt.path, res, http.StatusSeeOther)
				want := "/account/login?return_url=" + url.QueryEscape(tt.wantReturn)
				if got := res.Header.Get("Location"); got != want {
					t.Errorf("Location: got %q, want %q", got, want)
				}
			})
		}
		if got := phoneSMSCount(e); got != 0 {
			t.Errorf("SMS sent to anonymous requests: got %d, want 0", got)
		}
	})
}

func TestPhoneOtherUsersCode(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := phoneSignUp(e, "ann@example.com")
		bob := phoneSignUp(e, "bob@example.com")
		phoneWantStatus(t, "ann sends", phoneSend(ann, phoneNumberA), http.StatusSeeOther)
		annCode := e.LastCode(phoneNumberA)

		// Bob has no code at all.
		phoneWantRefused(t, "bob with ann's number and code", phoneConfirm(bob, phoneNumberA, annCode))
		// Bob has a code of his own, for another number.
		phoneWantStatus(t, "bob sends", phoneSend(bob, phoneNumberB), http.StatusSeeOther)
		phoneWantRefused(t, "bob with a pending code, ann's number and code", phoneConfirm(bob, phoneNumberA, annCode))

		phoneWant(t, ann, "", "")
		phoneWant(t, bob, "", "")
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE phone_number IS NOT NULL`); n != 0 {
			t.Errorf("users with a number: got %d, want 0", n)
		}
		// Ann's code still works for Ann.
		phoneWantStatus(t, "ann confirms", phoneConfirm(ann, phoneNumberA, annCode), http.StatusSeeOther)
		phoneWant(t, ann, phoneNumberA, "Verified")
		phoneWant(t, bob, "", "")
	})
}

// phonePost sends a same-origin form without the harness, safe to call from
// several goroutines; it returns the status, or 0 after reporting an error.
func phonePost(t *testing.T, e *apptest.Env, c *apptest.Client, path string, form url.Values) int {
	req, err := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Errorf("POST %s: %v", path, err)
		return 0
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// phoneStatusCounts runs n copies of the same POST at once and counts statuses.
func phoneStatusCounts(t *testing.T, e *apptest.Env, c *apptest.Client, n int, path string, form url.Values) map[int]int {
	t.Helper()
	statuses := make([]int, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			statuses[i] = phonePost(t, e, c, path, form)
		})
	}
	start.Done()
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	return counts
}

func TestPhoneConcurrentConfirm(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		code := e.LastCode(phoneNumberA)

		const n = 50
		got := phoneStatusCounts(t, e, c, n, phoneConfirmPath, url.Values{"phone_number": {phoneNumberA}, "code": {code}})
		want := map[int]int{http.StatusSeeOther: 1, http.StatusUnprocessableEntity: n - 1}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("statuses of %d confirmations of one code: got %v, want %v", n, got, want)
		}
		if got := phoneAudit(e, "phone.confirmed"); got != 1 {
			t.Errorf("phone.confirmed audit rows: got %d, want 1", got)
		}
		if got := phoneAudit(e, "phone.confirm_failed"); got != 0 {
			t.Errorf("phone.confirm_failed audit rows for a right code: got %d, want 0", got)
		}
		var confirmed int
		for _, ev := range e.Events.All() {
			if _, ok := ev.(contracts.PhoneNumberConfirmed); ok {
				confirmed++
			}
		}
		if confirmed != 1 {
			t.Errorf("PhoneNumberConfirmed events: got %d, want 1", confirmed)
		}
		phoneWant(t, c, phoneNumberA, "Verified") // the client is still signed in
	})
}

func TestPhoneConcurrentSend(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")

		const n = 20
		got := phoneStatusCounts(t, e, c, n, phoneSendPath, url.Values{"phone_number": {phoneNumberA}})
		want := map[int]int{http.StatusSeeOther: 1, http.StatusTooManyRequests: n - 1}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("statuses of %d sends at once: got %v, want %v", n, got, want)
		}
		if got := phoneSMSCount(e); got != 1 {
			t.Errorf("SMS sent: got %d, want 1", got)
		}
		// One send counted against the number's cap: the refused ones gave
		// their slots back.
		if got := e.Count(`SELECT COUNT(*) FROM rate_events WHERE bucket = 'phone-number'`); got != 1 {
			t.Errorf("phone-number rate events: got %d, want 1", got)
		}
		// The one code that went out is the one that works.
		phoneWantStatus(t, "confirm", phoneConfirm(c, phoneNumberA, e.LastCode(phoneNumberA)), http.StatusSeeOther)
	})
}

func TestPhoneConfirmEndsOtherSessions(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		a := phoneSignUp(e, "ann@example.com")
		b := e.NewClient()
		b.Login("ann@example.com", phonePassword)
		phoneWantStatus(t, "B before", b.Get(phoneManagePath), http.StatusOK)

		phoneVerify(t, e, a, phoneNumberA)

		phoneWantStatus(t, "A after confirming", a.Get(phoneManagePath), http.StatusOK)
		res := b.Get(phoneManagePath)
		phoneWantStatus(t, "B after A confirmed", res, http.StatusSeeOther)
		if got, want := res.Header.Get("Location"), "/account/login?return_url="+url.QueryEscape(phoneManagePath); got != want {
			t.Errorf("B redirect: got %q, want %q", got, want)
		}
		// A failed confirmation ends nobody's session.
		b.Login("ann@example.com", phonePassword)
		e.Clock.Advance(61 * time.Second)
		phoneWantStatus(t, "send to B's number", phoneSend(a, phoneNumberB), http.StatusSeeOther)
		phoneWantRefused(t, "wrong code", phoneConfirm(a, phoneNumberB, phoneOtherCode(e.LastCode(phoneNumberB))))
		phoneWantStatus(t, "B after a failed confirmation", b.Get(phoneManagePath), http.StatusOK)
	})
}

func TestPhoneAuditAndEvents(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		id := phoneUserID(t, e, "ann@example.com")

		phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		code := e.LastCode(phoneNumberA)
		phoneWantRefused(t, "wrong code", phoneConfirm(c, phoneNumberA, phoneOtherCode(code)))
		phoneWantStatus(t, "confirm", phoneConfirm(c, phoneNumberA, code), http.StatusSeeOther)
		phoneWantStatus(t, "profile edit", c.Post(phoneManagePath, url.Values{"display_name": {"Ann"}, "phone_number": {phoneNumberB}}), http.StatusSeeOther)
		phoneWantStatus(t, "remove", c.Post(phoneRemovePath, nil), http.StatusSeeOther)

		for _, tt := range []struct {
			action string
			want   int
		}{
			{"phone.code_sent", 1},
			{"phone.confirm_failed", 1},
			{"phone.confirmed", 1},
			{"phone.changed", 1},
			{"phone.removed", 1},
		} {
			got := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND actor_id = $2 AND subject_id = $2 AND client_ip = '127.0.0.1'`, tt.action, id)
			if got != tt.want {
				t.Errorf("%s audit rows by %s from 127.0.0.1: got %d, want %d", tt.action, id, got, tt.want)
			}
		}

		var got []any
		for _, ev := range e.Events.All() {
			switch ev.(type) {
			case contracts.PhoneVerificationCodeSent, contracts.PhoneNumberConfirmed, contracts.PhoneNumberChanged, contracts.PhoneNumberRemoved:
				got = append(got, ev)
			}
		}
		want := []any{
			contracts.PhoneVerificationCodeSent{UserID: id, PhoneNumber: phoneNumberA},
			contracts.PhoneNumberConfirmed{UserID: id, PhoneNumber: phoneNumberA},
			contracts.PhoneNumberChanged{UserID: id, OldNumber: "", NewNumber: phoneNumberA, Verified: true},
			contracts.PhoneNumberChanged{UserID: id, OldNumber: phoneNumberA, NewNumber: phoneNumberB, Verified: false},
			contracts.PhoneNumberRemoved{UserID: id, OldNumber: phoneNumberB},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("phone events:\ngot  %+v\nwant %+v", got, want)
		}
	})
}

func TestPhoneCodeNotStoredPlain(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		code := e.LastCode(phoneNumberA)

		rows, err := e.App.DB.Query(`SELECT * FROM phone_codes`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var s string
				switch v := v.(type) {
				case string:
					s = v
				case []byte:
					s = string(v)
				default:
					// Numbers (times, counters) hold the code only by being it.
					if fmt.Sprint(v) == code || fmt.Sprint(v) == strings.TrimLeft(code, "0") {
						t.Errorf("phone_codes.%s: got %v, the plain code", cols[i], v)
					}
					continue
				}
				if s == phoneNumberA {
					continue // the number itself, which the code cannot be
				}
				if strings.Contains(s, code) {
					t.Errorf("phone_codes.%s: got %q, which holds the plain code %s", cols[i], s, code)
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("phone_codes rows: got %d, want 1", n)
		}
	})
}
