package admin

import (
	"context"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// userAction is one POST action on a user: run op as the signed-in admin,
// then back to tab with flash, or the tab again with a reason.
func (h *handler) userAction(tab string, op func(ctx context.Context, actorID, userID, clientIP string) error, flash string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := op(r.Context(), currentAdmin(r).ID, id, h.kit.ClientIP(r)); err != nil {
			h.actionFailed(w, r, err, tab)
			return
		}
		h.kit.Redirect(w, r, editURL(id, tab), flash)
	})
}

// userActionRoutes are the admin actions. Forcing re-verification keeps the
// address or number and marks it unverified (the user is told by email);
// lock signs the user out everywhere (never yourself); unlock also lifts a
// lockout after failed sign-ins; the reset link is the one "Forgot password"
// sends. Sign out everywhere ends every session; the Admin role is granted
// and revoked on the Roles tab (never one's own, never the last
// administrator's); delete follows a confirmation step.
func (h *handler) userActionRoutes() []web.Route {
	u := h.users
	pages := []string{pageEdit, pageNotFound}
	route := func(pattern, tab string, op func(ctx context.Context, actorID, userID, clientIP string) error, flash string) web.Route {
		return web.Route{Pattern: pattern, Pages: pages, Handler: h.userAction(tab, op, flash)}
	}
	return []web.Route{
		route("POST /admin/users/{id}/force-reverify", tabSecurity, u.ForceEmailReverification, "Email re-verification forced. The user must verify their email address again."),
		route("POST /admin/users/{id}/force-phone-reverify", tabSecurity, u.ForcePhoneReverification, "Phone re-verification forced. The user must verify their phone number again."),
		route("POST /admin/users/{id}/lock", tabSecurity, u.Lock, "Account locked. The user has been signed out and cannot sign in."),
		route("POST /admin/users/{id}/unlock", tabSecurity, u.Unlock, "Account unlocked. The user can sign in again."),
		route("POST /admin/users/{id}/send-password-reset", tabSecurity, u.SendPasswordReset, "Password reset link sent. It works once, for one hour; the current password keeps working until it is used."),
		route("POST /admin/users/{id}/disable-two-factor", tabSecurity, u.DisableTwoFactor, "Two-factor sign-in turned off. The user was signed out everywhere and told by email; their password alone now signs them in."),
		route("POST /admin/users/{id}/sign-out-everywhere", tabSessions, u.SignOutEverywhere, "Signed out everywhere. The user must sign in again on every device."),
		{Pattern: "POST /admin/users/{id}/grant-admin", Pages: pages, Handler: h.setAdmin(true)},
		{Pattern: "POST /admin/users/{id}/revoke-admin", Pages: pages, Handler: h.setAdmin(false)},
		{Pattern: "POST /admin/users/{id}/delete", Pages: pages, Handler: http.HandlerFunc(h.deleteUser)},
		{Pattern: "POST /admin/users/{id}/passkeys/{pid}/delete", Pages: pages, Handler: http.HandlerFunc(h.deletePasskey)},
	}
}
