package admin

import "net/http"

// deleteUser deletes the account after the confirmation step on the
// Details tab (?confirm=delete), then to the user list. Never one's own
// account, never the last administrator.
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	u, ok := h.userOrNotFound(w, r)
	if !ok {
		return
	}
	if err := h.users.Delete(r.Context(), currentAdmin(r).ID, r.PathValue("id"), h.kit.ClientIP(r)); err != nil {
		h.actionFailed(w, r, err, tabDetails)
		return
	}
	h.kit.Redirect(w, r, "/admin/users", "Account "+u.Email+" deleted. Its sessions have ended.")
}
