package handlers

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pageLogin          = "users/account/login"
	pageLoginUnconfirm = "users/account/login-unconfirmed"
)

type loginForm struct {
	Email      string
	RememberMe bool
	ReturnURL  string
}

// LoginPage shows the sign-in form.
func (h *Handler) LoginPage(w http.ResponseWriter, r *http.Request) {
	form := loginForm{ReturnURL: web.SafeReturnURL(r.URL.Query().Get("return_url"), "")}
	h.Kit.Render(w, r, http.StatusOK, pageLogin, web.View{Title: "Sign in", Data: form})
}

// Login checks the password, applies lockout and starts a fresh session.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	addr := strings.TrimSpace(r.PostFormValue("email"))
	form := loginForm{Email: addr, RememberMe: r.PostFormValue("remember_me") != "", ReturnURL: web.SafeReturnURL(r.PostFormValue("return_url"), "")}
	fail := func(msg string) {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageLogin, web.View{Title: "Sign in", Error: msg, Data: form})
	}
	const wrong = "Invalid email or password."
	// Bookkeeping must survive a client that hangs up mid-request.
	book := context.WithoutCancel(r.Context())
	// Password spraying across many accounts from one network pauses here,
	// before any account is looked at. Every attempt takes a slot first (so
	// a parallel burst cannot slip past); a right password gives it back.
	slot, wait, err := h.Limits.Reserve(book, "signin-failure", h.Kit.RateKey(r), h.Config.SignInFailuresPerIP, signInFailureWindow)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	if wait > 0 {
		h.Kit.Throttled(w, r, wait, pageLogin, web.View{Title: "Sign in", Error: "Too many failed sign-ins from your network.", Data: form})
		return
	}
	rightPassword := func() {
		if err := h.Limits.Release(book, slot); err != nil {
			h.Log.ErrorContext(book, "release sign-in slot", "err", err)
		}
	}
	acct, err := h.Store.AccountByEmail(r.Context(), addr)
	if errors.Is(err, store.ErrNotFound) {
		h.verifyPassword(r.PostFormValue("password"), h.dummyHash())
		fail(wrong)
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	// The attempt is counted before the (slow) password check, so parallel
	// guesses cannot get past the lockout.
	now := h.Kit.Clock.Now()
	ip := h.Kit.ClientIP(r)
	wait, err = h.Store.ReserveSignIn(book, acct.ID, maxFailedSignIns, signInLockout, ip)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	if wait > 0 {
		h.verifyPassword("", h.dummyHash()) // same cost as a real attempt
		h.Kit.Throttled(w, r, wait, pageLogin, web.View{Title: "Sign in", Error: "This account is locked after too many failed sign-ins.", Data: form})
		return
	}
	ok, err := h.verifyPassword(r.PostFormValue("password"), acct.PasswordHash)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	if !ok {
		until, err := h.Store.RecordFailedSignIn(book, acct.ID, maxFailedSignIns, signInLockout, ip)
		if err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
		if !until.IsZero() {
			h.Log.WarnContext(r.Context(), "account locked out after failed sign-ins", "user_id", acct.ID, "client_ip", ip)
			h.Kit.Throttled(w, r, until.Sub(now), pageLogin, web.View{Title: "Sign in", Error: "Too many failed sign-ins: this account is locked for a while.", Data: form})
			return
		}
		fail(wrong)
		return
	}
	// The password is right: whatever happens next, this was no guess.
	rightPassword()
	if acct.LockedByAdmin || (h.Config.RequireConfirmedEmail && !acct.EmailConfirmed) {
		if err := h.Store.ClearSignInFailures(book, acct.ID); err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
	}
	// Only someone who knows the password learns that an admin locked it.
	if acct.LockedByAdmin {
		fail("This account has been locked by an administrator.")
		return
	}
	if h.Config.RequireConfirmedEmail && !acct.EmailConfirmed {
		h.Kit.Render(w, r, http.StatusForbidden, pageLoginUnconfirm, web.View{Title: "Confirm your email", Data: form})
		return
	}
	if old := session.Token(r); old != "" {
		h.Sessions.Delete(r.Context(), h.Store.DB, secrets.Hash(old))
	}
	err = h.Store.RecordSignIn(book, acct.ID, func(tx *sql.Tx) error {
		token, sess, err := h.Sessions.Create(book, tx, acct.ID, acct.SecurityStamp, form.RememberMe)
		if err == nil {
			h.Sessions.SetCookie(w, token, sess)
		}
		return err
	})
	if errors.Is(err, store.ErrLockedOut) {
		fail("This account is locked. Try again later.")
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, web.SafeReturnURL(form.ReturnURL, "/account/manage"), "")
}

// Logout ends the current session.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	if token := session.Token(r); token != "" {
		if err := h.Sessions.Delete(r.Context(), h.Store.DB, secrets.Hash(token)); err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
	}
	h.Sessions.ClearCookie(w)
	h.Kit.Redirect(w, r, "/account/login", "You have been signed out.")
}
