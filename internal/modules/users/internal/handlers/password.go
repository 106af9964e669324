package handlers

import (
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pageChangePassword = "users/account/manage/change-password"
	pageForgotPassword = "users/account/forgot-password"
	pageResetPassword  = "users/account/reset-password"
)

// ChangePasswordPage shows the change-password form.
func (h *Handler) ChangePasswordPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageChangePassword, web.View{Title: "Change password"})
}

// ChangePassword stores a new password; this session stays signed in,
// other devices are signed out.
func (h *Handler) ChangePassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	err := h.Accounts.ChangePassword(r.Context(), currentUser(r).ID, r.PostFormValue("current_password"),
		r.PostFormValue("new_password"), r.PostFormValue("confirm_password"), currentSessionHash(r), h.client(r))
	if err != nil {
		h.fail(w, r, err, pageChangePassword, web.View{Title: "Change password"})
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/change-password", "Your password has been changed. Other devices have been signed out.")
}

// ForgotPasswordPage shows the form asking for an email address.
func (h *Handler) ForgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageForgotPassword, web.View{Title: "Forgot password"})
}

// ForgotPassword asks for a reset link. The answer is the same whether or
// not the account exists, so the form cannot be used to find accounts.
func (h *Handler) ForgotPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	addr := strings.TrimSpace(r.PostFormValue("email"))
	if err := h.Accounts.ForgotPassword(r.Context(), addr, h.client(r)); err != nil {
		h.fail(w, r, err, pageForgotPassword, web.View{Title: "Forgot password"})
		return
	}
	h.Kit.Redirect(w, r, "/account/forgot-password", "If an account exists for "+addr+", we have sent it a link to reset the password. Check your inbox.")
}

type resetForm struct {
	UserID string
	Code   string
}

// ResetPasswordPage shows the new-password form for a reset link.
func (h *Handler) ResetPasswordPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h.Kit.Render(w, r, http.StatusOK, pageResetPassword, web.View{Title: "Reset password", Data: resetForm{UserID: q.Get("userId"), Code: q.Get("code")}})
}

// ResetPassword sets the new password from a reset link; every session of
// the user ends.
func (h *Handler) ResetPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := resetForm{UserID: r.PostFormValue("userId"), Code: r.PostFormValue("code")}
	err := h.Accounts.ResetPassword(r.Context(), form.UserID, form.Code, r.PostFormValue("password"), r.PostFormValue("confirm_password"), h.client(r))
	if msg := tokenMessage(err, againReset); msg != "" {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageResetPassword, web.View{Title: "Reset password", Error: msg, Data: form})
		return
	}
	if err != nil {
		h.fail(w, r, err, pageResetPassword, web.View{Title: "Reset password", Data: form})
		return
	}
	h.Kit.Redirect(w, r, "/account/login", "Your password has been reset. Sign in with the new one.")
}
