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

// Register signs a person up. The answer is the same whether the address
// is new (an account and a confirmation link) or taken (a notice to its
// owner): a flash telling them to check their email, on the sign-in page.
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := registerForm{Email: strings.TrimSpace(r.PostFormValue("email"))}
	err := h.Accounts.Register(r.Context(), form.Email, r.PostFormValue("password"), r.PostFormValue("confirm_password"), h.client(r))
	if err != nil {
		h.fail(w, r, err, pageRegister, web.View{Title: "Create account", Data: form})
		return
	}
	h.Kit.Redirect(w, r, "/account/login", "Check your email: we have sent a message to "+form.Email+
		". Open the link in it to confirm your address, then sign in.")
}
