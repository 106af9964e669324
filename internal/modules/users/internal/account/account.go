// Package account holds the Users module's use cases: every rule about
// accounts — sign-up, sign-in and its lockout, email and phone
// confirmation, passwords, the admin actions — lives here. Each use case
// takes plain inputs, owns its transaction, writes its audit rows, emits
// its events inside that transaction and returns typed outcomes and
// errors. Handlers parse forms and render pages; the store runs SQL.
package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/password"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/events"
	"github.com/simplemodule-go/simplemodule/internal/platform/metrics"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
	"github.com/simplemodule-go/simplemodule/internal/platform/ratelimit"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
)

// Fixed rules of sign-in and passwords.
const (
	maxFailedSignIns    = 5                // wrong passwords before the account locks
	signInLockout       = 15 * time.Minute // how long it stays locked
	signInFailureWindow = 15 * time.Minute // window of the per-network failure cap
	registrationWindow  = time.Hour        // window of the per-network sign-up cap
	sendWindow          = time.Hour        // window of the per-number and per-network code caps
	passwordResetTTL    = time.Hour
	minPasswordLen      = 8
	maxPasswordLen      = 256
	maxDisplayNameLen   = 100
)

// Token purposes of emailed links.
const (
	purposeConfirm     = "confirm-email"
	purposeChangeEmail = "change-email"
	purposeReset       = "reset-password"
)

// Lockout is "Failures within Window lock for Duration".
type Lockout struct {
	Failures int
	Window   time.Duration
	Duration time.Duration
}

// Policy is every tunable rule, built once at start from the settings.
type Policy struct {
	RequireConfirmedEmail bool
	RegistrationsPerIP    int // per hour, 0 = no cap
	SignInFailuresPerIP   int // per 15 minutes, 0 = no cap
	PasswordResetsPerIP   int // reset-link submissions per 15 minutes, 0 = no cap
	EmailTokenTTL         time.Duration
	EmailResendCooldown   time.Duration

	PhoneCodeTTL        time.Duration
	PhoneResendCooldown time.Duration
	PhoneMaxAttempts    int // wrong codes before a code is burned
	PhoneSendsPerNumber int // per hour, 0 = no cap
	PhoneSendsPerIP     int // per hour, 0 = no cap
	PhoneLockout        Lockout
}

// Deps is what the service needs.
type Deps struct {
	Store        *store.Store
	Sessions     *session.Store
	Outbox       *outbox.Outbox
	Bus          *events.Bus // nil in tools that need no events
	Limits       *ratelimit.Limiter
	Clock        clock.Clock
	Log          *slog.Logger
	Phones       *phone.Parser
	Passwords    password.Params
	CodeKey      []byte        // HMAC key for phone codes
	TwoFactorKey []byte        // the keys of two-factor sign-in are derived from it
	BaseURL      string        // for links in emails and the SMS autofill line
	Metrics      metrics.Users // counts sign-ins, codes sent and confirmations; nil counts nothing
	Policy       Policy

	// RelyingParty runs passkey ceremonies; nil when passkeys are off (the
	// base URL's host is an IP address).
	RelyingParty *webauthn.WebAuthn

	// PasswordHashed, when set, is called for every argon2id computation (a
	// hash or a verification): tests count what a request costs with it.
	PasswordHashed func()
}

// Service runs the use cases.
type Service struct {
	Deps

	tf twoFactorKeys

	dummyOnce sync.Once
	dummy     string
	slots     chan struct{} // see hashPassword
}

// New builds the service.
func New(d Deps) *Service {
	if d.Metrics == nil {
		d.Metrics = metrics.NopUsers{}
	}
	return &Service{Deps: d, tf: newTwoFactorKeys(d.TwoFactorKey), slots: make(chan struct{}, hashSlots())}
}

// Client is who asks: the client IP for the audit log and the key rate
// limits count per network (the address, or its /64 for IPv6), and the
// browser's User-Agent, remembered with a session it starts.
type Client struct {
	IP        string
	RateKey   string
	UserAgent string
}

// Errors for expected outcomes. The web layer maps each to a status and a
// message in one place.
var (
	ErrNotFound             = store.ErrNotFound
	ErrDuplicateEmail       = errors.New("an account with that email already exists")
	ErrInvalidCredentials   = errors.New("invalid email or password")
	ErrLockedByAdmin        = errors.New("account locked by an administrator")
	ErrLockedOut            = errors.New("account locked")
	ErrWrongPassword        = errors.New("current password is not correct")
	ErrTokenInvalid         = store.ErrTokenInvalid
	ErrTokenExpired         = store.ErrTokenExpired
	ErrTokenUsed            = store.ErrTokenUsed
	ErrEmailTaken           = errors.New("email now used by another account")
	ErrAlreadyConfirmed     = errors.New("email already confirmed")
	ErrPhoneAlreadyVerified = errors.New("phone number already verified")
	ErrNoPendingCode        = errors.New("no pending code")
	ErrWrongCode            = errors.New("wrong code")
	ErrCodeExpired          = errors.New("code expired")
	ErrCodeBurned           = errors.New("too many wrong attempts for this code")
	ErrCodeUsed             = errors.New("code already used")
	ErrWrongNumber          = errors.New("code was sent to another number")
)

// InputError is input a person must correct; Message says how.
type InputError struct{ Message string }

func (e *InputError) Error() string { return e.Message }

func invalid(msg string) error { return &InputError{Message: msg} }

// Reason says why an action is throttled.
type Reason int

// Throttle reasons.
const (
	ReasonNetworkSignIns    Reason = iota + 1 // too many failed sign-ins from one network
	ReasonAccountLocked                       // the account is locked after failed sign-ins
	ReasonAccountLockedNow                    // this failure locked the account
	ReasonPasswordLocked                      // locked after wrong current passwords
	ReasonPasswordLockedNow                   // this wrong current password locked it
	ReasonRegistrations                       // too many sign-ups from one network
	ReasonEmailCooldown                       // an email of this kind went out a moment ago
	ReasonPhoneCooldown                       // a code went out a moment ago
	ReasonPhoneLocked                         // phone verification is locked after wrong codes
	ReasonNumberCap                           // too many codes to this number
	ReasonNetworkCap                          // too many codes from this network
	ReasonPasswordResets                      // too many password resets from one network
	ReasonPasskeyRequests                     // too many passkey ceremonies begun from one network
	ReasonSecondStepDaily                     // too many wrong second-step codes for the account today
)

var reasonNames = [...]string{"", "network sign-ins", "account locked", "account locked now", "password locked", "password locked now",
	"registrations", "email cooldown", "phone cooldown", "phone locked", "number cap", "network cap", "password resets", "passkey requests", "second step daily"}

// String names the reason for logs.
func (r Reason) String() string {
	if r > 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// ThrottledError says an action is refused until RetryAfter has passed.
type ThrottledError struct {
	Reason     Reason
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled (%s): retry after %s", e.Reason, e.RetryAfter)
}

func throttled(r Reason, wait time.Duration) error {
	return &ThrottledError{Reason: r, RetryAfter: wait}
}

// audit is one audit row to write; the subject defaults to the actor.
type audit = store.Audit

// change runs fn in one transaction. Events fn emits reach transactional
// subscribers inside it (so a notice commits with the change) and every
// other subscriber after the commit; then the outbox is woken for whatever
// the change queued.
func (s *Service) change(ctx context.Context, fn func(tx *sql.Tx, emit func(event any) error) error) error {
	var emitted []any
	err := s.Store.DB.InTx(ctx, func(tx *sql.Tx) error {
		emitted = emitted[:0]
		return fn(tx, func(event any) error {
			emitted = append(emitted, event)
			if s.Bus == nil {
				return nil
			}
			return s.Bus.PublishTx(ctx, tx, event)
		})
	})
	if err != nil {
		return err
	}
	if s.Outbox != nil {
		s.Outbox.Kick()
	}
	if s.Bus != nil {
		for _, ev := range emitted {
			s.Bus.Publish(ctx, ev)
		}
	}
	return nil
}

// Account returns one account.
func (s *Service) Account(ctx context.Context, id string) (store.Account, error) {
	return s.Store.AccountByID(ctx, id)
}
