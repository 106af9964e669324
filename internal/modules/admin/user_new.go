package admin

import (
	"errors"
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// newUserForm is the create-a-user form as typed.
type newUserForm struct {
	Email       string
	DisplayName string
	Admin       bool
}

// userMessager is an error the Users module returns for input the admin
// must correct; UserMessage says how.
type userMessager interface{ UserMessage() string }

// newUserPage shows the form to create a user.
func (h *handler) newUserPage(w http.ResponseWriter, r *http.Request) {
	h.kit.Render(w, r, http.StatusOK, pageNew, web.View{Title: "New user", Data: newUserForm{}})
}

// newUser creates the account and emails its owner an invitation link to
// choose a password; then to the new user's page. A taken address or an
// invalid one gives the form again with 422.
func (h *handler) newUser(w http.ResponseWriter, r *http.Request) {
	form := newUserForm{Email: strings.TrimSpace(r.PostFormValue("email")), DisplayName: strings.TrimSpace(r.PostFormValue("display_name")),
		Admin: r.PostFormValue("admin") == "yes"}
	u, err := h.users.Invite(r.Context(), currentAdmin(r).ID, form.Email, form.DisplayName, form.Admin, h.kit.ClientIP(r))
	var in userMessager
	switch {
	case err == nil:
	case errors.Is(err, contracts.ErrEmailTaken):
		h.kit.Render(w, r, http.StatusUnprocessableEntity, pageNew, web.View{Title: "New user", Data: form,
			Error: "An account with this email address already exists. Search the user list for it."})
		return
	case errors.As(err, &in):
		h.kit.Render(w, r, http.StatusUnprocessableEntity, pageNew, web.View{Title: "New user", Data: form, Error: in.UserMessage()})
		return
	default:
		h.kit.ServerError(w, r, err)
		return
	}
	h.kit.Redirect(w, r, editURL(u.ID, tabDetails), "Account created. An invitation to choose a password has been sent to "+u.Email+"; the link works once, for 7 days.")
}
