package admin

import "net/http"

// userSendPasswordReset emails the user a link to choose a new password.
func (h *handler) userSendPasswordReset(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.users.SendPasswordReset(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
		h.actionFailed(w, r, err)
		return
	}
	h.kit.Redirect(w, r, securityURL(id), "Password reset link sent. It works once, for one hour; the current password keeps working until it is used.")
}
