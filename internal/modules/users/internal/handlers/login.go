package handlers

import (
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
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
	Passkeys   bool // passkeys are on: offer the passkey sign-in
}

// loginView is the sign-in page showing f, offering passkeys when they are on.
func (h *Handler) loginView(f loginForm) web.View {
	f.Passkeys = h.Accounts.PasskeysOn()
	return web.View{Title: "Sign in", Data: f}
}

// LoginPage shows the sign-in form.
func (h *Handler) LoginPage(w http.ResponseWriter, r *http.Request) {
	form := loginForm{ReturnURL: web.SafeReturnURL(r.URL.Query().Get("return_url"), "")}
	h.Kit.Render(w, r, http.StatusOK, pageLogin, h.loginView(form))
}

// Login signs in with email and password.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := loginForm{Email: strings.TrimSpace(r.PostFormValue("email")), RememberMe: r.PostFormValue("remember_me") != "",
		ReturnURL: web.SafeReturnURL(r.PostFormValue("return_url"), "")}
	res, err := h.Accounts.SignIn(r.Context(), form.Email, r.PostFormValue("password"), form.RememberMe, session.Token(r), rememberedBrowser(r), h.client(r))
	if err != nil {
		h.fail(w, r, err, pageLogin, h.loginView(form))
		return
	}
	if res.Outcome == account.EmailUnconfirmed {
		h.Kit.Render(w, r, http.StatusForbidden, pageLoginUnconfirm, web.View{Title: "Confirm your email", Data: form})
		return
	}
	if res.Outcome == account.NeedsSecondFactor {
		h.setPending(w, res.Pending)
		h.Kit.Redirect(w, r, secondStepURL("/account/login/two-factor", form.ReturnURL), "")
		return
	}
	h.startSession(w, res.Session)
	h.Kit.Redirect(w, r, web.SafeReturnURL(form.ReturnURL, "/account/manage"), "")
}

// Logout ends the current session.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	if token := session.Token(r); token != "" {
		if err := h.Accounts.SignOut(r.Context(), token); err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
	}
	h.Sessions.ClearCookie(w)
	h.Kit.Redirect(w, r, "/account/login", "You have been signed out.")
}
