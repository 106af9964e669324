package admin

import (
	"errors"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

const confirmPasskey = "passkey"

// loadPasskeys fills the Security tab's passkeys; confirm=passkey with
// passkey={pid} asks to confirm deleting that one.
func (h *handler) loadPasskeys(r *http.Request, v *editView, confirm string) error {
	list, err := h.users.Passkeys(r.Context(), v.User.ID)
	if err != nil {
		return err
	}
	v.Passkeys = list
	if confirm != confirmPasskey {
		return nil
	}
	for i := range list {
		if list[i].ID == r.URL.Query().Get("passkey") {
			v.ConfirmPasskey = &list[i]
		}
	}
	return nil
}

// deletePasskey deletes one passkey of a user (a lost or stolen device);
// the user is told by email.
func (h *handler) deletePasskey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := h.users.DeletePasskey(r.Context(), currentAdmin(r).ID, id, r.PathValue("pid"), h.kit.ClientIP(r))
	if errors.Is(err, contracts.ErrPasskeyNotFound) {
		h.renderEdit(w, r, http.StatusNotFound, "That passkey has been deleted already.", tabSecurity, "")
		return
	}
	if err != nil {
		h.actionFailed(w, r, err, tabSecurity)
		return
	}
	h.kit.Redirect(w, r, securityURL(id), "Passkey deleted. It no longer signs the user in, they were signed out everywhere, and they have been told by email.")
}
