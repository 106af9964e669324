package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// handler serves the Admin module's pages: one file per action.
type handler struct {
	kit   *web.Kit
	users contracts.Admin
	log   *slog.Logger

	requireTwoFactor bool
}

// requireAdmin sends anonymous visitors to sign in (coming back afterwards)
// and answers 403 to signed-in users who are not administrators.
func (h *handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := contracts.UserFrom(r.Context())
		if !ok {
			// A form cannot be replayed after sign-in; go back to where it was.
			back := "/admin/users"
			if id := r.PathValue("id"); id != "" {
				back = securityURL(id)
			}
			web.RedirectToSignIn(w, r, back)
			return
		}
		if !u.HasRole(contracts.RoleAdmin) {
			h.log.WarnContext(r.Context(), "admin access refused", "user_id", u.ID, "method", r.Method, "path", r.URL.Path,
				"request_id", web.RequestID(r.Context()))
			h.kit.Render(w, r, http.StatusForbidden, pageForbidden, web.View{Title: "Not allowed"})
			return
		}
		if h.requireTwoFactor && !u.TwoFactorEnabled {
			h.kit.Redirect(w, r, "/account/manage/two-factor", "Administrators must turn on two-factor sign-in before using the admin pages.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// currentAdmin is the signed-in administrator (requireAdmin has checked).
func currentAdmin(r *http.Request) contracts.User {
	u, _ := contracts.UserFrom(r.Context())
	return u
}

func editURL(id, tab string) string {
	return "/admin/users/" + url.PathEscape(id) + "/edit?tab=" + tab
}

func securityURL(id string) string { return editURL(id, tabSecurity) }

// lockState describes why u cannot sign in, or "" when they can.
func lockState(u contracts.User, now time.Time) string {
	switch {
	case u.LockedByAdmin:
		return "Locked by an administrator"
	case u.LockoutEnd.After(now):
		return "Locked out until " + u.LockoutEnd.UTC().Format("2006-01-02 15:04 UTC") + " after failed sign-ins"
	}
	return ""
}

// actionFailed maps an error from an admin action to its answer: 404 for an
// unknown user, tab again with 422 and a message for a refused action, and
// a plain 500 for anything else.
func (h *handler) actionFailed(w http.ResponseWriter, r *http.Request, err error, tab string) {
	var msg string
	switch {
	case errors.Is(err, contracts.ErrNotFound):
		h.notFound(w, r)
		return
	case errors.Is(err, contracts.ErrSelfLock):
		msg = "You cannot lock your own account."
	case errors.Is(err, contracts.ErrNoPhoneNumber):
		msg = "This user has no phone number to verify again."
	case errors.Is(err, contracts.ErrAlreadyUnverified):
		msg = "That is already unverified, so there is nothing to revoke."
	case errors.Is(err, contracts.ErrAlreadyLocked):
		msg = "This account is already locked."
	case errors.Is(err, contracts.ErrNotLocked):
		msg = "This account is not locked."
	case errors.Is(err, contracts.ErrTwoFactorOff):
		msg = "Two-factor sign-in is already off for this user."
	case errors.Is(err, contracts.ErrSelf) && tab == tabRoles:
		msg = "You cannot change your own roles. Ask another administrator."
	case errors.Is(err, contracts.ErrSelf):
		msg = "You cannot delete your own account here."
	case errors.Is(err, contracts.ErrLastAdmin) && tab == tabRoles:
		msg = "This is the last administrator, so the Admin role stays. Make someone else an administrator first."
	case errors.Is(err, contracts.ErrLastAdmin):
		msg = "This is the last administrator and cannot be deleted. Make someone else an administrator first."
	default:
		h.kit.ServerError(w, r, err)
		return
	}
	h.renderEdit(w, r, http.StatusUnprocessableEntity, msg, tab, "")
}

// userOrNotFound looks up the user of the {id} in the path; when there is
// none it answers 404, on any other error 500, and returns false.
func (h *handler) userOrNotFound(w http.ResponseWriter, r *http.Request) (contracts.User, bool) {
	u, err := h.users.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, contracts.ErrNotFound) {
		h.notFound(w, r)
		return u, false
	}
	if err != nil {
		h.kit.ServerError(w, r, err)
		return u, false
	}
	return u, true
}

// notFound renders the 404 page.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.kit.Render(w, r, http.StatusNotFound, pageNotFound, web.View{Title: "User not found"})
}
