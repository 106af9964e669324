// Package handlers is the Users module's web layer: one file per page,
// methods on Handler. Handlers parse forms, call the account service and
// render pages; errors.go maps the service's errors to status and message
// in one place.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// Handler serves the Users module's pages.
type Handler struct {
	Accounts *account.Service
	Kit      *web.Kit
	Sessions *session.Store // cookies
	Log      *slog.Logger
}

type ctxKey int

const sessionHashKey ctxKey = 1

// Authenticate loads the signed-in user for every request. A token that
// signs nobody in is treated as anonymous and its cookie cleared.
func (h *Handler) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := session.Token(r)
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		acct, idHash, err := h.Accounts.Authenticate(r.Context(), token)
		switch {
		case errors.Is(err, account.ErrNoSession):
			h.Sessions.ClearCookie(w)
			next.ServeHTTP(w, r)
			return
		case err != nil:
			h.Kit.ServerError(w, r, err)
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

// client is who asks, for the audit log and the per-network limits.
func (h *Handler) client(r *http.Request) account.Client {
	return account.Client{IP: h.Kit.ClientIP(r), RateKey: h.Kit.RateKey(r), UserAgent: r.UserAgent()}
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

// startSession sets the cookie of a session the service started.
func (h *Handler) startSession(w http.ResponseWriter, ns account.NewSession) {
	h.Sessions.SetCookie(w, ns.Token, ns.Session)
}

// cookie is one of the module's short-lived cookies besides the session's
// own: HttpOnly, Secure in production, sent only under path.
type cookie struct {
	name, path string
	sameSite   http.SameSite
}

// setCookie sets c to value for maxAge; a negative maxAge deletes it.
func (h *Handler) setCookie(w http.ResponseWriter, c cookie, value string, maxAge time.Duration) {
	age := int(maxAge.Seconds())
	if maxAge < 0 {
		age, value = -1, ""
	}
	http.SetCookie(w, &http.Cookie{Name: c.name, Value: value, Path: c.path, MaxAge: age, HttpOnly: true, Secure: h.Sessions.Secure, SameSite: c.sameSite})
}

func (h *Handler) clearCookie(w http.ResponseWriter, c cookie) { h.setCookie(w, c, "", -1) }

// value is c's value in the request, "" when absent.
func (c cookie) value(r *http.Request) string {
	if ck, err := r.Cookie(c.name); err == nil {
		return ck.Value
	}
	return ""
}
