package handlers

import (
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const pageManage = "users/account/manage/index"

type profileView struct {
	User        contracts.User
	DisplayName string
	PhoneInput  string
}

// ManagePage shows the profile: display name, email and phone with badges.
func (h *Handler) ManagePage(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	h.Kit.Render(w, r, http.StatusOK, pageManage, web.View{Title: "Your profile", Data: profileView{User: u, DisplayName: u.DisplayName, PhoneInput: u.PhoneNumber}})
}

// Manage saves the display name and phone number. A changed phone number is
// stored unverified; the same number keeps its status.
func (h *Handler) Manage(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	name := strings.TrimSpace(r.PostFormValue("display_name"))
	input := strings.TrimSpace(r.PostFormValue("phone_number"))
	saved, err := h.Accounts.SaveProfile(r.Context(), u.ID, name, input, h.client(r))
	if err != nil {
		h.fail(w, r, err, pageManage, web.View{Title: "Your profile", Data: profileView{User: u, DisplayName: name, PhoneInput: input}})
		return
	}
	flash := "Your profile has been updated."
	if saved.PhoneChanged && saved.PhoneNumber != "" {
		flash = "Your profile has been updated. Verify your new phone number to get the Verified badge."
	}
	h.Kit.Redirect(w, r, "/account/manage", flash)
}
