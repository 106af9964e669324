package handlers

import (
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/platform/session"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const pageInvitation = "users/account/invitation"

// againInvitation is what to do after a dead invitation link: the account
// exists, so "Forgot password" sets a password as well as a new invitation
// would.
const againInvitation = `Choose a password with "Forgot password" on the sign-in page, or ask an administrator for help.`

type invitationForm struct {
	UserID string
	Code   string
	Dead   bool // the link cannot be used: no form, only the message
}

// InvitationPage shows the choose-a-password form of an invitation link,
// or, with 422, why the link no longer works.
func (h *Handler) InvitationPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := invitationForm{UserID: q.Get("userId"), Code: q.Get("code")}
	err := h.Accounts.CheckInvitation(r.Context(), form.UserID, form.Code)
	if msg := tokenMessage(err, againInvitation); msg != "" {
		form.Dead = true
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageInvitation, web.View{Title: "Choose your password", Error: msg, Data: form})
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Render(w, r, http.StatusOK, pageInvitation, web.View{Title: "Choose your password", Data: form})
}

// AcceptInvitation sets the password chosen from an invitation link,
// which confirms the email address and signs the person in.
func (h *Handler) AcceptInvitation(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := invitationForm{UserID: r.PostFormValue("userId"), Code: r.PostFormValue("code")}
	ns, err := h.Accounts.AcceptInvitation(r.Context(), form.UserID, form.Code, r.PostFormValue("password"), r.PostFormValue("confirm_password"),
		session.Token(r), h.client(r))
	if msg := tokenMessage(err, againInvitation); msg != "" {
		form.Dead = true
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageInvitation, web.View{Title: "Choose your password", Error: msg, Data: form})
		return
	}
	if err != nil {
		h.fail(w, r, err, pageInvitation, web.View{Title: "Choose your password", Data: form})
		return
	}
	h.startSession(w, ns)
	h.Kit.Redirect(w, r, "/account/manage", "Welcome! Your password is set and your email address is confirmed.")
}
