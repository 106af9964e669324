package admin

import "net/http"

// userLock locks the account and signs the user out everywhere. Locking
// yourself is refused.
func (h *handler) userLock(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.users.Lock(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
		h.actionFailed(w, r, err)
		return
	}
	h.kit.Redirect(w, r, securityURL(id), "Account locked. The user has been signed out and cannot sign in.")
}
