package admin

import (
	"regexp"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
)

// auditWords says each audit action in words an administrator reads at a
// glance. The code stays in the page (data-action) for tools and tests; an
// action missing here (one a newer module records) is shown as its code,
// never hidden.
var auditWords = map[string]string{
	"user.registered":             "Signed up",
	"user.created":                "Account created",
	"user.locked":                 "Account locked",
	"user.unlocked":               "Account unlocked",
	"signin.locked_out":           "Sign-in blocked after failed attempts",
	"email.confirmed":             "Email address confirmed",
	"email.changed":               "Email address changed",
	"email.reverification_forced": "Email re-verification forced",
	"password.changed":            "Password changed",
	"password.reset":              "Password reset with an emailed link",
	"password.reset_sent":         "Password reset link sent",
	"phone.code_sent":             "Phone verification code sent",
	"phone.confirm_failed":        "Wrong phone verification code entered",
	"phone.confirmed":             "Phone number verified",
	"phone.changed":               "Phone number changed (unverified)",
	"phone.removed":               "Phone number removed",
	"phone.reverification_forced": "Phone re-verification forced",
	"user.registration_attempted": "Someone tried to sign up with this address",
	"role.granted":                "Admin role granted",
	"role.revoked":                "Admin role revoked",

	// Invitations, sessions and deletion.
	"user.invited":                   "Invited by an administrator",
	"user.invitation_accepted":       "Invitation accepted: password chosen",
	"sessions.signed_out_everywhere": "Signed out everywhere",
	"session.revoked":                "Signed out one device",
	"sessions.revoked_others":        "Signed out all other devices",
	"user.deleted":                   "Account deleted",

	// Two-factor sign-in.
	"two_factor.enabled":                 "Two-factor sign-in method turned on",
	"two_factor.disabled":                "Two-factor sign-in turned off",
	"two_factor.recovery_codes_replaced": "Two-factor recovery codes replaced",
	"two_factor.recovery_code_used":      "Signed in with a two-factor recovery code",
	"two_factor.code_sent":               "Two-factor sign-in code texted",
	"two_factor.browsers_forgotten":      "Two-factor remembered browsers forgotten",
	// Passkeys.
	"passkey.added":   "Passkey added",
	"passkey.renamed": "Passkey renamed",
	"passkey.removed": "Passkey deleted",
}

// Who acted, as the audit table says it.
const (
	actorSelf   = "self"   // the account's owner
	actorSystem = "system" // nobody signed in: a lockout, the command line
)

// auditRow is one audit entry as the Security tab shows it.
type auditRow struct {
	contracts.AuditEntry
	Words  string // the action in words
	Actor  string // "self", the acting admin's email (or id), or "system"
	Detail string // the entry's detail, numbers in international format
}

// e164RE finds E.164 numbers inside free text such as "+1… → +1…".
var e164RE = regexp.MustCompile(`\+[1-9][0-9]{6,14}`)

// auditRows turns the entries of subjectID's trail into rows. An entry is
// the user's own when they acted on their own account, and registration
// is always their own (it is recorded before the account has an id to
// name as actor).
func auditRows(subjectID string, entries []contracts.AuditEntry) []auditRow {
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		r := auditRow{AuditEntry: e, Words: e.Action, Detail: e164RE.ReplaceAllStringFunc(e.Detail, phone.FormatInternational)}
		if w, ok := auditWords[e.Action]; ok {
			r.Words = w
		}
		switch {
		case e.ActorID == subjectID || e.Action == "user.registered":
			r.Actor = actorSelf
		case e.ActorEmail != "":
			r.Actor = e.ActorEmail
		case e.ActorID != "":
			r.Actor = e.ActorID
		default:
			r.Actor = actorSystem
		}
		rows = append(rows, r)
	}
	return rows
}
