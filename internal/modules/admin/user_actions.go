package admin

import (
	"context"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// userAction is one POST action on a user: run op as the signed-in admin,
// then back to the Security tab with flash, or the tab again with a reason.
func (h *handler) userAction(op func(ctx context.Context, actorID, userID, clientIP string) error, flash string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := op(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
			h.actionFailed(w, r, err)
			return
		}
		h.kit.Redirect(w, r, securityURL(id), flash)
	})
}

// userActionRoutes are the admin actions. Forcing re-verification keeps the
// address or number and marks it unverified (the user is told by email);
// lock signs the user out everywhere (never yourself); unlock also lifts a
// lockout after failed sign-ins; the reset link is the one "Forgot password"
// sends.
func (h *handler) userActionRoutes() []web.Route {
	u := h.users
	route := func(pattern string, op func(ctx context.Context, actorID, userID, clientIP string) error, flash string) web.Route {
		return web.Route{Pattern: pattern, Pages: []string{pageEdit, pageNotFound}, Handler: h.userAction(op, flash)}
	}
	return []web.Route{
		route("POST /admin/users/{id}/force-reverify", u.ForceEmailReverification, "Email re-verification forced. The user must verify their email address again."),
		route("POST /admin/users/{id}/force-phone-reverify", u.ForcePhoneReverification, "Phone re-verification forced. The user must verify their phone number again."),
		route("POST /admin/users/{id}/lock", u.Lock, "Account locked. The user has been signed out and cannot sign in."),
		route("POST /admin/users/{id}/unlock", u.Unlock, "Account unlocked. The user can sign in again."),
		route("POST /admin/users/{id}/send-password-reset", u.SendPasswordReset, "Password reset link sent. It works once, for one hour; the current password keeps working until it is used."),
	}
}
