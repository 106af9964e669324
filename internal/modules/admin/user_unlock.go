package admin

import "net/http"

// userUnlock lifts an admin lock and any lockout after failed sign-ins.
func (h *handler) userUnlock(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.users.Unlock(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
		h.actionFailed(w, r, err)
		return
	}
	h.kit.Redirect(w, r, securityURL(id), "Account unlocked. The user can sign in again.")
}
