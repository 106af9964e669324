package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pageManageEmail   = "users/account/manage/email"
	pageConfirmEmail  = "users/account/confirm-email"
	pageResendConfirm = "users/account/resend-email-confirmation"
)

type confirmView struct {
	OK      bool
	Heading string
}

// ConfirmEmail handles the link from the confirmation email.
func (h *Handler) ConfirmEmail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	err := h.Accounts.ConfirmEmail(r.Context(), q.Get("userId"), q.Get("code"), h.client(r))
	if msg := tokenMessage(err, againConfirm); msg != "" {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageConfirmEmail, web.View{Title: "Confirm email", Error: msg, Data: confirmView{Heading: "We could not confirm your email"}})
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Render(w, r, http.StatusOK, pageConfirmEmail, web.View{Title: "Email confirmed", Data: confirmView{OK: true, Heading: "Thank you for confirming your email"}})
}

type manageEmailView struct {
	Email     string
	Confirmed bool
	NewEmail  string
}

func emailView(u contracts.User, newEmail string) web.View {
	return web.View{Title: "Email", Data: manageEmailView{Email: u.Email, Confirmed: u.EmailConfirmed, NewEmail: newEmail}}
}

// ManageEmailPage shows the email address, its badge and the change form.
func (h *Handler) ManageEmailPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageManageEmail, emailView(currentUser(r), ""))
}

// ManageEmail either resends the confirmation (action=resend) or sends a
// change link to a new address (action=change).
func (h *Handler) ManageEmail(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	if r.PostFormValue("action") == "resend" {
		err := h.Accounts.SendConfirmation(r.Context(), u)
		switch {
		case errors.Is(err, account.ErrAlreadyConfirmed):
			h.Kit.Redirect(w, r, "/account/manage/email", "Your email address is already verified.")
		case err != nil:
			h.fail(w, r, err, pageManageEmail, emailView(u, ""))
		default:
			h.Kit.Redirect(w, r, "/account/manage/email", "Verification email sent to "+u.Email+". Please check your inbox.")
		}
		return
	}
	newEmail := strings.TrimSpace(r.PostFormValue("new_email"))
	err := h.Accounts.RequestEmailChange(r.Context(), u, newEmail, r.PostFormValue("current_password"), h.client(r))
	if err != nil {
		v := emailView(u, newEmail)
		var t *account.ThrottledError
		if errors.As(err, &t) && t.Reason == account.ReasonEmailCooldown {
			v = emailView(u, "")
		}
		h.fail(w, r, err, pageManageEmail, v)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/email", "Confirmation link sent to "+newEmail+". Your email address changes once you open it.")
}

// ConfirmEmailChange handles the link sent to a new address.
func (h *Handler) ConfirmEmailChange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID, newEmail := q.Get("userId"), strings.TrimSpace(q.Get("email"))
	keep := ""
	if u, ok := contracts.UserFrom(r.Context()); ok && u.ID == userID {
		keep = currentSessionHash(r)
	}
	err := h.Accounts.ConfirmEmailChange(r.Context(), userID, newEmail, q.Get("code"), keep, h.client(r))
	msg := tokenMessage(err, againConfirm)
	if errors.Is(err, account.ErrEmailTaken) {
		msg = message(err)
	}
	if msg != "" {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageConfirmEmail, web.View{Title: "Confirm email change", Error: msg, Data: confirmView{Heading: "We could not change your email"}})
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Render(w, r, http.StatusOK, pageConfirmEmail, web.View{Title: "Email changed", Data: confirmView{OK: true, Heading: "Your email address is now " + newEmail}})
}

// ResendConfirmationPage shows the anonymous resend form.
func (h *Handler) ResendConfirmationPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageResendConfirm, web.View{Title: "Resend confirmation", Data: r.URL.Query().Get("email")})
}

// ResendConfirmation asks for a new link. The answer is identical whether
// or not the account exists, so it reveals nothing.
func (h *Handler) ResendConfirmation(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	addr := strings.TrimSpace(r.PostFormValue("email"))
	if err := h.Accounts.ResendConfirmation(r.Context(), addr); err != nil {
		h.fail(w, r, err, pageResendConfirm, web.View{Title: "Resend confirmation", Data: addr})
		return
	}
	h.Kit.Redirect(w, r, "/account/resend-email-confirmation", "If an unconfirmed account exists for "+addr+", a new confirmation link is on its way.")
}
