package contracts

import (
	"context"
	"errors"
	"time"
)

// Errors the Admin operations return for expected conditions. The Admin
// module maps each to a status and a message a person understands.
var (
	// ErrNotFound: no user has that id.
	ErrNotFound = errors.New("user not found")
	// ErrSelfLock: an admin tried to lock their own account.
	ErrSelfLock = errors.New("you cannot lock your own account")
	// ErrNoPhoneNumber: phone re-verification was forced on a user without a number.
	ErrNoPhoneNumber = errors.New("user has no phone number")
	// ErrAlreadyUnverified: re-verification was forced on an address or number
	// that is not verified, so there is nothing to revoke.
	ErrAlreadyUnverified = errors.New("already unverified")
	// ErrAlreadyLocked: the account is already locked by an admin.
	ErrAlreadyLocked = errors.New("account already locked")
	// ErrNotLocked: unlock was asked for an account that is neither locked by
	// an admin nor locked out after failed sign-ins.
	ErrNotLocked = errors.New("account not locked")
	// ErrSelf: an admin tried to demote or delete their own account.
	ErrSelf = errors.New("you cannot do this to your own account")
	// ErrLastAdmin: the change would leave no administrator.
	ErrLastAdmin = errors.New("the last administrator cannot be demoted or deleted")
	// ErrEmailTaken: an invitation to an address that has an account.
	ErrEmailTaken = errors.New("an account with that email already exists")
	// ErrTwoFactorOff: two-factor was asked to be turned off but is not on.
	ErrTwoFactorOff = errors.New("two-factor sign-in is not on")
	// ErrNotImplemented: an operation not built yet.
	ErrNotImplemented = errors.New("not implemented yet")
)

// Session is one signed-in browser of a user, as lists show it.
type Session struct {
	ID         string // opaque, stable id for revoking (never the token or its hash)
	Browser    string // "Firefox on Windows", in words
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	Current    bool // the session of the request that lists them
}

// AuditEntry is one recorded security-relevant change to a user.
type AuditEntry struct {
	At         time.Time
	ActorID    string // empty when the system acted
	ActorEmail string // the actor's current email, empty when unknown
	Action     string // e.g. "phone.reverification_forced"
	Detail     string
	ClientIP   string
}

// Admin is what the Users module lets administrators do. Every write is
// recorded in the audit log with actorID in the same transaction and
// published as an event after commit. Authorization is the caller's job.
type Admin interface {
	// List returns one page (from 1) of users matching query — a
	// case-insensitive substring of email, display name or phone number;
	// empty matches everyone — newest first, and the number of matches.
	List(ctx context.Context, query string, page, perPage int) ([]User, int, error)
	// Get returns one user, or ErrNotFound.
	Get(ctx context.Context, id string) (User, error)
	// ForceEmailReverification marks the user's email unverified.
	ForceEmailReverification(ctx context.Context, actorID, userID, clientIP string) error
	// ForcePhoneReverification marks the user's phone number unverified,
	// keeping the number, and withdraws any pending code.
	ForcePhoneReverification(ctx context.Context, actorID, userID, clientIP string) error
	// Lock stops the user from signing in and ends their sessions.
	// Locking yourself is refused with ErrSelfLock.
	Lock(ctx context.Context, actorID, userID, clientIP string) error
	// Unlock lifts an admin lock and any sign-in lockout.
	Unlock(ctx context.Context, actorID, userID, clientIP string) error
	// SendPasswordReset emails the user a single-use link to choose a new
	// password (the same link as "Forgot password"), recorded with the admin
	// as actor. The current password keeps working until the link is used.
	SendPasswordReset(ctx context.Context, actorID, userID, clientIP string) error
	// AuditTrail lists the user's audit entries, newest first.
	AuditTrail(ctx context.Context, userID string, limit, offset int) ([]AuditEntry, error)
	// Sessions lists the user's live sessions, newest first.
	Sessions(ctx context.Context, userID string) ([]Session, error)
	// SignOutEverywhere ends every session of the user.
	SignOutEverywhere(ctx context.Context, actorID, userID, clientIP string) error
	// SetAdmin grants (grant) or revokes the Admin role. Refused: ErrSelf
	// for one's own account, ErrLastAdmin for the last administrator.
	SetAdmin(ctx context.Context, actorID, userID string, grant bool, clientIP string) error
	// Invite creates an account for email (optionally an administrator) and
	// emails it a single-use link, valid 7 days, to choose a password.
	// ErrEmailTaken when the address has an account.
	Invite(ctx context.Context, actorID, email, displayName string, admin bool, clientIP string) (User, error)
	// Delete deletes the account (see the Users module's account deletion).
	// Refused: ErrSelf, ErrLastAdmin.
	Delete(ctx context.Context, actorID, userID, clientIP string) error
	// TwoFactor returns the user's two-factor status and methods.
	TwoFactor(ctx context.Context, userID string) (TwoFactor, error)
	// DisableTwoFactor turns the user's two-factor sign-in off (methods,
	// recovery codes, remembered browsers) and ends their sessions.
	// ErrTwoFactorOff when it is off already.
	DisableTwoFactor(ctx context.Context, actorID, userID, clientIP string) error
	// Passkeys lists the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]Passkey, error)
	// DeletePasskey deletes one of the user's passkeys (ErrPasskeyNotFound
	// when they have none with that id) and ends the user's sessions; the
	// user is told by email.
	DeletePasskey(ctx context.Context, actorID, userID, passkeyID, clientIP string) error
}

// TwoFactor is a user's two-factor sign-in, as the admin pages show it.
type TwoFactor struct {
	Enabled       bool
	Authenticator bool
	SMS           bool   // turned on for SMSNumber
	SMSNumber     string // E.164
	SMSUsable     bool   // SMSNumber is still the user's confirmed number
	RecoveryLeft  int
}
