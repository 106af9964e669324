// Package contracts is everything other modules may know about the Users
// module: the signed-in user, the events it publishes and the admin
// operations it offers. Nothing here depends on the module's internals.
package contracts

import (
	"context"
	"slices"
	"time"
)

// RoleAdmin is the role that may use the Admin module.
const RoleAdmin = "Admin"

// User is the public view of an account.
type User struct {
	ID                   string
	Email                string
	EmailConfirmed       bool
	DisplayName          string
	PhoneNumber          string // E.164, empty when none
	PhoneNumberConfirmed bool
	TwoFactorEnabled     bool
	Roles                []string
	LockedByAdmin        bool
	LockoutEnd           time.Time // zero when not locked out
	FailedSignIns        int
	CreatedAt            time.Time
	LastLoginAt          time.Time
}

// HasRole reports whether u is in role.
func (u User) HasRole(role string) bool { return slices.Contains(u.Roles, role) }

type userKey struct{}

// WithUser returns ctx carrying the signed-in user.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the signed-in user, if any.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// Events, emitted inside the transaction of the change that caused them
// (transactional subscribers, events.Bus.SubscribeTx, write with it) and
// published to everyone else after it commits. Actor is the user who acted
// (the subject themselves, or an admin).

// EmailConfirmed: the user proved an email address.
type EmailConfirmed struct{ UserID, Email string }

// EmailChanged: the user's email address changed (and was confirmed by the link).
type EmailChanged struct{ UserID, OldEmail, NewEmail string }

// PasswordChanged: the password changed (by the user or a reset link).
type PasswordChanged struct{ UserID string }

// SessionsRevoked: sessions of the user were ended by ActorID (the user
// themselves from the sessions page, or an administrator): one of them,
// all but the current one, or all of them.
type SessionsRevoked struct{ UserID, ActorID string }

// RegistrationAttempted: someone tried to sign up with the address of the
// existing account UserID (Email, confirmed or not). Nothing was created or
// changed; registration answered as for a new address, so only the
// address's owner learns of it.
type RegistrationAttempted struct{ UserID, Email string }

// PhoneVerificationCodeSent: a code went out to PhoneNumber.
type PhoneVerificationCodeSent struct{ UserID, PhoneNumber string }

// PhoneNumberConfirmed: the user proved PhoneNumber with a code.
type PhoneNumberConfirmed struct{ UserID, PhoneNumber string }

// PhoneNumberChanged: the stored number changed from Old to New (New verified or not).
type PhoneNumberChanged struct {
	UserID, OldNumber, NewNumber string
	Verified                     bool
}

// PhoneNumberRemoved: the user removed their number.
type PhoneNumberRemoved struct{ UserID, OldNumber string }

// PhoneReverificationForced: an admin marked the number unverified.
type PhoneReverificationForced struct{ UserID, ActorID, PhoneNumber string }

// EmailReverificationForced: an admin marked the email unverified.
type EmailReverificationForced struct{ UserID, ActorID, Email string }

// UserLocked and UserUnlocked: an admin locked or unlocked an account.
type UserLocked struct{ UserID, ActorID string }

// UserUnlocked: see UserLocked.
type UserUnlocked struct{ UserID, ActorID string }

// UserInvited: an administrator (ActorID) created an account for Email,
// in the Admin role when Admin, and emailed it a link to choose a password.
type UserInvited struct {
	UserID, ActorID, Email string
	Admin                  bool
}

// RoleChanged: Role was granted to (Granted) or revoked from the user by
// ActorID (empty: the command line). It takes effect at the user's next
// request: the session's roles are read per request.
type RoleChanged struct {
	UserID, ActorID, Role string
	Granted               bool
}

// AccountDeleted: the account UserID was deleted, by its owner (ActorID ==
// UserID) or an administrator. Email and EmailConfirmed are what the
// account held: the row is gone by the time anyone hears of it, inside the
// deletion's transaction included.
type AccountDeleted struct {
	UserID, Email  string
	EmailConfirmed bool
	ActorID        string
}

// Two-factor methods, as events and the audit log name them.
const (
	MethodAuthenticator = "authenticator"
	MethodSMS           = "sms"
)

// TwoFactorEnabled: the user turned on a two-factor method (Method); First
// is set when this turned two-factor sign-in on.
type TwoFactorEnabled struct {
	UserID, Method string
	First          bool
}

// TwoFactorDisabled: two-factor sign-in was turned off by ActorID (the
// user, or an administrator).
type TwoFactorDisabled struct{ UserID, ActorID string }

// RecoveryCodesReplaced: the user replaced their recovery codes.
type RecoveryCodesReplaced struct{ UserID string }

// RecoveryCodeUsed: a recovery code signed the user in; Left remain.
type RecoveryCodeUsed struct {
	UserID string
	Left   int
}
