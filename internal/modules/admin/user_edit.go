package admin

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	tabDetails    = "details"
	tabSecurity   = "security"
	tabSessions   = "sessions"
	tabRoles      = "roles"
	auditPerPage  = 20
	confirmEmail  = "email"
	confirmPhone  = "phone"
	confirmLock   = "lock"
	confirmReset  = "reset"
	confirmDelete = "delete"
	confirm2FA    = "disable-two-factor"
	maxAuditPages = 10000
)

type editView struct {
	User      contracts.User
	Tab       string
	Confirm   string // which action awaits confirmation: email, phone, lock, reset, delete or ""
	Self      bool   // the admin is looking at their own account
	IsAdmin   bool   // the user has the Admin role
	LockState string
	LockedOut bool // locked out after failed sign-ins (not by an admin)

	Audit        []auditRow
	AuditPage    int
	PrevAuditURL string
	NextAuditURL string

	Sessions []contracts.Session // the Sessions tab

	TwoFactor      contracts.TwoFactor // the Security tab
	Passkeys       []contracts.Passkey // the Security tab
	ConfirmPasskey *contracts.Passkey  // the passkey whose deletion awaits confirmation
}

// userEdit shows one user: the Details tab (name, email, phone, roles,
// delete), the Security tab (badges, force re-verification, lock / unlock,
// audit trail), the Sessions tab (where they are signed in, sign out
// everywhere) or the Roles tab (grant or revoke Admin).
// confirm=email|phone|lock|reset|delete shows the confirmation form of that
// action, so it takes two deliberate steps without JavaScript.
func (h *handler) userEdit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tab := tabDetails
	switch q.Get("tab") {
	case tabSecurity, tabSessions, tabRoles:
		tab = q.Get("tab")
	}
	h.renderEdit(w, r, http.StatusOK, "", tab, q.Get("confirm"))
}

// renderEdit renders the edit page for the {id} in the path with status and
// an optional error message.
func (h *handler) renderEdit(w http.ResponseWriter, r *http.Request, status int, msg, tab, confirm string) {
	u, ok := h.userOrNotFound(w, r)
	if !ok {
		return
	}
	now := h.kit.Clock.Now()
	v := editView{User: u, Tab: tab, Self: u.ID == currentAdmin(r).ID, IsAdmin: u.HasRole(contracts.RoleAdmin),
		LockState: lockState(u, now), LockedOut: u.LockoutEnd.After(now)}
	if tab == tabDetails && confirm == confirmDelete && !v.Self {
		v.Confirm = confirm
	}
	if tab == tabSessions {
		var err error
		if v.Sessions, err = h.users.Sessions(r.Context(), u.ID); err != nil {
			h.kit.ServerError(w, r, err)
			return
		}
	}
	if tab == tabSecurity {
		switch confirm {
		case confirmEmail, confirmPhone, confirmLock, confirmReset, confirm2FA:
			v.Confirm = confirm
		}
		var err error
		if v.TwoFactor, err = h.users.TwoFactor(r.Context(), u.ID); err != nil {
			h.kit.ServerError(w, r, err)
			return
		}
		page, err := strconv.Atoi(r.URL.Query().Get("audit_page"))
		if err != nil || page < 1 {
			page = 1
		}
		page = min(page, maxAuditPages)
		// One extra row tells whether there is a next page.
		entries, err := h.users.AuditTrail(r.Context(), u.ID, auditPerPage+1, (page-1)*auditPerPage)
		if err != nil {
			h.kit.ServerError(w, r, err)
			return
		}
		if len(entries) > auditPerPage {
			entries = entries[:auditPerPage]
			v.NextAuditURL = auditURL(u.ID, page+1)
		}
		if page > 1 {
			v.PrevAuditURL = auditURL(u.ID, page-1)
		}
		v.Audit, v.AuditPage = auditRows(u.ID, entries), page
		if err := h.loadPasskeys(r, &v, confirm); err != nil {
			h.kit.ServerError(w, r, err)
			return
		}
	}
	h.kit.Render(w, r, status, pageEdit, web.View{Title: u.Email, Error: msg, Data: v})
}

func auditURL(id string, page int) string {
	return securityURL(id) + "&" + url.Values{"audit_page": {strconv.Itoa(page)}}.Encode() + "#audit"
}
