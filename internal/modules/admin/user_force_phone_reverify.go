package admin

import "net/http"

// userForcePhoneReverify marks the user's phone number unverified, keeping
// the number; the user is told by email and asked to verify it again.
func (h *handler) userForcePhoneReverify(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.users.ForcePhoneReverification(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
		h.actionFailed(w, r, err)
		return
	}
	h.kit.Redirect(w, r, securityURL(id), "Phone re-verification forced. The user must verify their phone number again.")
}
