package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
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
	view := profileView{User: u, DisplayName: name, PhoneInput: input}
	fail := func(msg string) {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageManage, web.View{Title: "Your profile", Error: msg, Data: view})
	}
	if len([]rune(name)) > 100 {
		fail("Use a display name of at most 100 characters.")
		return
	}
	number := ""
	if input != "" {
		var err error
		number, err = h.Phones.Parse(input)
		if err != nil {
			fail(phoneMessage(err))
			return
		}
	}
	ch, err := h.Store.SaveProfile(r.Context(), u.ID, name, number, store.Audit{ActorID: u.ID, Action: "phone.changed", ClientIP: h.Kit.ClientIP(r)})
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	flash := "Your profile has been updated."
	if ch.Changed && number != "" {
		flash = "Your profile has been updated. Verify your new phone number to get the Verified badge."
	}
	h.Kit.Redirect(w, r, "/account/manage", flash)
}

// phoneMessage turns a parse error into the text shown to the user.
func phoneMessage(err error) string {
	for _, known := range []error{phone.ErrEmpty, phone.ErrInvalid, phone.ErrPremiumRate, phone.ErrCountryNotAllowed} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return phone.ErrInvalid.Error()
}
