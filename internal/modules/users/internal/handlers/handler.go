// Package handlers is the Users module's web layer: one file per action,
// methods on Handler. Domain errors are mapped to status and message here.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/password"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/events"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
	"github.com/simplemodule-go/simplemodule/internal/platform/ratelimit"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// Sign-in lockout: SPEC §6 / issue 2.
const (
	maxFailedSignIns    = 5
	signInLockout       = 15 * time.Minute
	passwordResetTTL    = time.Hour
	registrationWindow  = time.Hour
	signInFailureWindow = 15 * time.Minute
	minPasswordLen      = 8
	maxPasswordLen      = 256
)

// Handler serves the Users module's pages.
type Handler struct {
	Store     *store.Store
	Kit       *web.Kit
	Sessions  *session.Store
	Bus       *events.Bus
	Passwords password.Params
	Config    config.Config
	Log       *slog.Logger
	Phones    *phone.Parser
	CodeKey   []byte // HMAC key for phone codes
	Outbox    *outbox.Outbox
	Limits    *ratelimit.Limiter // per-network registration and sign-in-failure caps

	dummyOnce sync.Once
	dummy     string
	slotsOnce sync.Once
	slots     chan struct{} // see hashSlots
}

// dummyHash is verified against when the email is unknown, so the time a
// sign-in takes does not reveal which accounts exist.
func (h *Handler) dummyHash() string {
	h.dummyOnce.Do(func() { h.dummy = h.hashPassword("not a real password") })
	return h.dummy
}

type ctxKey int

const sessionHashKey ctxKey = 1

// Authenticate loads the signed-in user for every request: a live session
// whose stamp still matches the user's security stamp, on an account an
// admin has not locked. Anything else is treated as anonymous and the stale
// session is deleted.
func (h *Handler) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := session.Token(r)
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		idHash := secrets.Hash(token)
		acct, stamp, err := h.Store.AccountBySession(r.Context(), idHash)
		switch {
		case errors.Is(err, store.ErrNotFound):
			h.Sessions.ClearCookie(w)
			next.ServeHTTP(w, r)
			return
		case err != nil:
			h.Kit.ServerError(w, r, err)
			return
		}
		if stamp != acct.SecurityStamp || acct.LockedByAdmin {
			h.Sessions.Delete(r.Context(), h.Store.DB, idHash)
			h.Sessions.ClearCookie(w)
			next.ServeHTTP(w, r)
			return
		}
		ctx := contracts.WithUser(r.Context(), acct.User)
		ctx = context.WithValue(ctx, sessionHashKey, idHash)
		ctx = web.WithViewer(ctx, web.Viewer{SignedIn: true, UserID: acct.ID, Email: acct.Email, IsAdmin: acct.HasRole(contracts.RoleAdmin)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// RequireUser sends anonymous visitors to sign in, coming back afterwards.
func (h *Handler) RequireUser(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := contracts.UserFrom(r.Context()); !ok {
			web.RedirectToSignIn(w, r, "/account/manage")
			return
		}
		next(w, r)
	})
}

func currentUser(r *http.Request) contracts.User {
	u, _ := contracts.UserFrom(r.Context())
	return u
}

func currentSessionHash(r *http.Request) string {
	s, _ := r.Context().Value(sessionHashKey).(string)
	return s
}

// parseForm limits the body and parses it; false means an answer was sent.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return false
	}
	return true
}

// ValidEmail returns a message when email is not a plain address.
func ValidEmail(email string) string {
	email = strings.TrimSpace(email)
	if email == "" {
		return "Enter your email address."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

// ValidNewPassword returns a message when a new password is not acceptable.
func ValidNewPassword(pw, confirm string) string {
	switch {
	case len([]rune(pw)) < minPasswordLen:
		return "Use a password of at least 8 characters."
	case len(pw) > maxPasswordLen:
		return "Use a password of at most 256 characters."
	case pw != confirm:
		return "The password and its confirmation do not match."
	}
	return ""
}

func (h *Handler) link(path string, q url.Values) string {
	return h.Config.BaseURL + path + "?" + q.Encode()
}

// publish hands events to subscribers; call only after the transaction commits.
func (h *Handler) publish(ctx context.Context, evs ...any) {
	for _, e := range evs {
		h.Bus.Publish(ctx, e)
	}
}
