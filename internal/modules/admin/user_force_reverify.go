package admin

import "net/http"

// userForceReverify marks the user's email address unverified; the user is
// told by email and asked to verify it again.
func (h *handler) userForceReverify(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.users.ForceEmailReverification(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
		h.actionFailed(w, r, err)
		return
	}
	h.kit.Redirect(w, r, securityURL(id), "Email re-verification forced. The user must verify their email address again.")
}
