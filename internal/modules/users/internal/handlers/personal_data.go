package handlers

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pagePersonalData   = "users/account/manage/personal-data"
	pageAccountDeleted = "users/account/deleted"
)

// personalDataView is what the personal data page and the page after a
// deletion show.
type personalDataView struct {
	User  contracts.User
	Keeps []string // what deleting the account keeps, and why
}

func (h *Handler) personalDataView(r *http.Request) web.View {
	return web.View{Title: "Personal data", Data: personalDataView{User: currentUser(r), Keeps: account.DeletionKeeps}}
}

// PersonalDataPage says what is stored about the user and offers the
// download and the deletion.
func (h *Handler) PersonalDataPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pagePersonalData, h.personalDataView(r))
}

// DownloadPersonalData sends everything stored about the user as a JSON
// file. It is a POST so that no link or prefetch fetches it, and no cache
// keeps it.
func (h *Handler) DownloadPersonalData(w http.ResponseWriter, r *http.Request) {
	p, err := h.Accounts.PersonalData(r.Context(), currentUser(r).ID)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	body, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="personal-data.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// DeleteAccount deletes the signed-in user's account after checking the
// password, signs this browser out and shows what was kept.
func (h *Handler) DeleteAccount(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	err := h.Accounts.DeleteAccount(r.Context(), currentUser(r).ID, r.PostFormValue("password"), h.client(r))
	if errors.Is(err, contracts.ErrLastAdmin) {
		v := h.personalDataView(r)
		v.Error = "You are the only administrator. Make someone else an administrator before you delete your account."
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pagePersonalData, v)
		return
	}
	if err != nil {
		h.fail(w, r, err, pagePersonalData, h.personalDataView(r))
		return
	}
	// The session row is gone with the account; the cookie goes too.
	h.Sessions.ClearCookie(w)
	h.Kit.Redirect(w, r, "/account/deleted", "Your account has been deleted.")
}

// AccountDeletedPage says what deleting an account keeps, and why.
func (h *Handler) AccountDeletedPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageAccountDeleted, web.View{Title: "Account deleted", Data: personalDataView{Keeps: account.DeletionKeeps}})
}
