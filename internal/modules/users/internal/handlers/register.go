package handlers

import (
	"database/sql"
	"errors"
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

type registerForm struct {
	Email string
}

const pageRegister = "users/account/register"

// RegisterPage shows the sign-up form.
func (h *Handler) RegisterPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageRegister, web.View{Title: "Create account", Data: registerForm{}})
}

// Register creates an account, sends the confirmation link and signs in.
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	addr := strings.TrimSpace(r.PostFormValue("email"))
	pw := r.PostFormValue("password")
	form := registerForm{Email: addr}
	msg := ValidEmail(addr)
	if msg == "" {
		msg = ValidNewPassword(pw, r.PostFormValue("confirm_password"))
	}
	if msg != "" {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageRegister, web.View{Title: "Create account", Error: msg, Data: form})
		return
	}
	wait, err := h.Limits.Take(r.Context(), "register", h.Kit.RateKey(r), h.Config.RegistrationsPerIP, registrationWindow)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	if wait > 0 {
		h.Kit.Throttled(w, r, wait, pageRegister, web.View{Title: "Create account", Error: "Too many sign-up attempts from your network in the last hour.", Data: form})
		return
	}
	ip := h.Kit.ClientIP(r)
	acct, err := h.Store.CreateAccount(r.Context(), addr, h.hashPassword(pw), false, nil, store.Audit{Action: "user.registered", ClientIP: ip},
		func(tx *sql.Tx, a store.Account) error {
			return h.mailLinkTx(r.Context(), tx, h.confirmationMail(a.ID, a.Email))
		})
	if errors.Is(err, store.ErrDuplicateEmail) {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageRegister, web.View{Title: "Create account", Error: "An account with that email already exists. Sign in instead, or reset your password.", Data: form})
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Outbox.Kick()
	if h.Config.RequireConfirmedEmail {
		h.Kit.Redirect(w, r, "/account/login", "Account created. We sent a confirmation link to "+acct.Email+"; confirm your address, then sign in.")
		return
	}
	err = h.Store.RecordSignIn(r.Context(), acct.ID, func(tx *sql.Tx) error {
		token, sess, err := h.Sessions.Create(r.Context(), tx, acct.ID, acct.SecurityStamp, false)
		if err == nil {
			h.Sessions.SetCookie(w, token, sess)
		}
		return err
	})
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage", "Welcome! Your account is ready. We sent a confirmation link to "+acct.Email+".")
}
