package admin

import (
	"errors"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// deleteUser deletes the account after the confirmation step on the
// Details tab (?confirm=delete), then to the user list. Never one's own
// account, never the last administrator.
func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	u, err := h.users.Get(r.Context(), id)
	if errors.Is(err, contracts.ErrNotFound) {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.kit.ServerError(w, r, err)
		return
	}
	if err := h.users.Delete(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
		h.actionFailed(w, r, err, tabDetails)
		return
	}
	h.kit.Redirect(w, r, "/admin/users", "Account "+u.Email+" deleted. Its sessions have ended.")
}
