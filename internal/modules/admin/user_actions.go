package admin

import (
	"context"
	"net/http"
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

// The admin actions. Forcing re-verification keeps the address or number
// and marks it unverified (the user is told by email); lock signs the user
// out everywhere (never yourself); unlock also lifts a lockout after failed
// sign-ins; the reset link is the one "Forgot password" sends.
func (h *handler) userActionRoutes() []struct {
	pattern string
	handler http.Handler
} {
	u := h.users
	return []struct {
		pattern string
		handler http.Handler
	}{
		{"POST /admin/users/{id}/force-reverify", h.userAction(u.ForceEmailReverification, "Email re-verification forced. The user must verify their email address again.")},
		{"POST /admin/users/{id}/force-phone-reverify", h.userAction(u.ForcePhoneReverification, "Phone re-verification forced. The user must verify their phone number again.")},
		{"POST /admin/users/{id}/lock", h.userAction(u.Lock, "Account locked. The user has been signed out and cannot sign in.")},
		{"POST /admin/users/{id}/unlock", h.userAction(u.Unlock, "Account unlocked. The user can sign in again.")},
		{"POST /admin/users/{id}/send-password-reset", h.userAction(u.SendPasswordReset, "Password reset link sent. It works once, for one hour; the current password keeps working until it is used.")},
	}
}
