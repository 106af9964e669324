package handlers

import (
	"net/http"
	"strings"

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

// Register creates an account, sends the confirmation link and signs in
// (unless a confirmed email is required first).
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := registerForm{Email: strings.TrimSpace(r.PostFormValue("email"))}
	res, err := h.Accounts.Register(r.Context(), form.Email, r.PostFormValue("password"), r.PostFormValue("confirm_password"), h.client(r))
	if err != nil {
		h.fail(w, r, err, pageRegister, web.View{Title: "Create account", Data: form})
		return
	}
	if res.Session == nil {
		h.Kit.Redirect(w, r, "/account/login", "Account created. We sent a confirmation link to "+res.Account.Email+"; confirm your address, then sign in.")
		return
	}
	h.startSession(w, *res.Session)
	h.Kit.Redirect(w, r, "/account/manage", "Welcome! Your account is ready. We sent a confirmation link to "+res.Account.Email+".")
}
