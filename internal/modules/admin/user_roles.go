package admin

import (
	"context"
	"net/http"
)

// setAdmin grants (grant) or revokes the Admin role, then back to the
// Roles tab. The Users module refuses one's own role and the last
// administrator's; the tab offers neither.
func (h *handler) setAdmin(grant bool) http.Handler {
	op := func(ctx context.Context, actorID, userID, clientIP string) error {
		return h.users.SetAdmin(ctx, actorID, userID, grant, clientIP)
	}
	flash := "Admin role revoked. The user can no longer open the admin pages."
	if grant {
		flash = "Admin role granted. The user can now manage users."
	}
	return h.userAction(tabRoles, op, flash)
}
