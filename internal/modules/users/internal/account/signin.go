package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/metrics"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
)

// NewSession is a session just started: the token goes into the cookie.
type NewSession struct {
	Token   string
	Session session.Session
}

// Register signs a person up from the form, and answers the same whether
// or not the address already has an account, so the form cannot be used
// to find accounts. A new address gets an account and its confirmation
// link in one transaction; an address that has an account gets nothing
// created or changed, and its owner hears of the attempt (the
// RegistrationAttempted event; the Notifications module writes to them).
// The password is hashed either way, so the time taken does not tell
// either. Nobody is signed in: being signed in at once would tell a new
// address from a taken one (docs/SECURITY.md).
func (s *Service) Register(ctx context.Context, addr, pw, confirm string, c Client) error {
	if err := checkEmail(addr); err != nil {
		return err
	}
	if err := checkNewPassword(pw, confirm, addr); err != nil {
		return err
	}
	wait, err := s.Limits.Take(ctx, "register", c.RateKey, s.Policy.RegistrationsPerIP, registrationWindow)
	if err != nil {
		return err
	}
	if wait > 0 {
		return throttled(ReasonRegistrations, wait)
	}
	_, err = s.create(ctx, addr, s.hashPassword(pw), false, nil, audit{Action: "user.registered", ClientIP: c.IP}, true)
	if errors.Is(err, ErrDuplicateEmail) {
		return s.registrationAttempted(ctx, addr, c)
	}
	return err
}

// registrationAttempted tells the owner of addr's account that someone
// tried to sign up with it: an audit row and the RegistrationAttempted
// event, in one transaction. At most one notice per account per email
// cooldown, so repeated attempts cannot flood the owner's inbox; the
// extra ones pass silently, as the form's answer does not change.
func (s *Service) registrationAttempted(ctx context.Context, addr string, c Client) error {
	acct, err := s.Store.AccountByEmail(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted in between: nothing to tell
	}
	if err != nil {
		return err
	}
	wait, err := s.Limits.Take(ctx, "registration-notice", acct.ID, 1, s.Policy.EmailResendCooldown)
	if err != nil || wait > 0 {
		return err
	}
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.WriteAudit(ctx, tx, audit{SubjectID: acct.ID, Action: "user.registration_attempted", ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.RegistrationAttempted{UserID: acct.ID, Email: acct.Email})
	})
}

// CreateUser creates an account whose email is already confirmed,
// optionally with roles (the command line's `user create`).
func (s *Service) CreateUser(ctx context.Context, addr, pw string, roles []string) (store.Account, error) {
	if err := checkEmail(addr); err != nil {
		return store.Account{}, err
	}
	if err := checkNewPassword(pw, pw, addr); err != nil {
		return store.Account{}, err
	}
	return s.create(ctx, addr, s.hashPassword(pw), true, roles, audit{Action: "user.created", Detail: "command line"}, false)
}

// create stores the account with its audit row and, when asked, the
// confirmation email, in one transaction. The password is hashed before:
// SQLite holds its write lock for a transaction's whole life, and argon2id
// takes tens of milliseconds.
func (s *Service) create(ctx context.Context, addr, hash string, confirmed bool, roles []string, a audit, sendConfirmation bool) (store.Account, error) {
	acct := s.Store.NewAccount(addr, hash, confirmed, roles)
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.InsertAccount(ctx, tx, acct); err != nil {
			return err
		}
		a.SubjectID = acct.ID
		if err := s.Store.WriteAudit(ctx, tx, a); err != nil {
			return err
		}
		if !sendConfirmation {
			return nil
		}
		return s.mailLinkTx(ctx, tx, s.confirmationMail(acct.ID, acct.Email))
	})
	if errors.Is(err, store.ErrDuplicateEmail) {
		return store.Account{}, ErrDuplicateEmail
	}
	return acct, err
}

// SignInOutcome is how a right password ends.
type SignInOutcome int

// Sign-in outcomes.
const (
	SignedIn          SignInOutcome = iota + 1 // a session started
	EmailUnconfirmed                           // a confirmed email is required first
	NeedsSecondFactor                          // two-factor is on: Pending is the half-signed-in state
)

// SignInResult is the outcome of SignIn; Session is set when SignedIn,
// Pending (the token of the half-signed-in state, for a cookie) when
// NeedsSecondFactor.
type SignInResult struct {
	Outcome SignInOutcome
	Session NewSession
	Pending string
}

// SignIn checks an email and password against the per-network failure cap
// and the account lockout and, when right, starts a session (ending the
// session of oldToken, if any, so a session id never survives a sign-in)
// — or, for an account with two-factor on whose browser is not
// remembered (remembered: the browser's token), answers
// NeedsSecondFactor without signing in. Errors: ErrInvalidCredentials,
// ErrLockedByAdmin, ErrLockedOut, or a ThrottledError.
func (s *Service) SignIn(ctx context.Context, addr, pw string, remember bool, oldToken, remembered string, c Client) (res SignInResult, err error) {
	defer func() { s.countSignIn(res, err) }()
	// Bookkeeping must survive a client that hangs up mid-request.
	book := context.WithoutCancel(ctx)
	// Password spraying across many accounts from one network pauses here,
	// before any account is looked at. Every attempt takes a slot first (so
	// a parallel burst cannot slip past); a right password gives it back.
	slot, wait, err := s.Limits.Reserve(book, "signin-failure", c.RateKey, s.Policy.SignInFailuresPerIP, signInFailureWindow)
	if err != nil {
		return SignInResult{}, err
	}
	if wait > 0 {
		return SignInResult{}, throttled(ReasonNetworkSignIns, wait)
	}
	acct, err := s.Store.AccountByEmail(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		s.verifyPassword(pw, s.dummyHash())
		return SignInResult{}, ErrInvalidCredentials
	}
	if err != nil {
		return SignInResult{}, err
	}
	if err := s.checkPassword(book, acct, pw, c, ReasonAccountLocked, ReasonAccountLockedNow, ErrInvalidCredentials); err != nil {
		return SignInResult{}, err
	}
	// The password is right: whatever happens next, this was no guess.
	if err := s.Limits.Release(book, slot); err != nil {
		s.Log.ErrorContext(book, "release sign-in slot", "err", err)
	}
	// Only someone who knows the password learns that an admin locked it.
	if outcome, err := s.admission(acct); outcome != 0 || err != nil {
		// checkPassword counted the attempt and cleared it only for a
		// session; this was no failure either.
		if cerr := s.Store.ClearSignInFailures(book, acct.ID); cerr != nil {
			return SignInResult{}, cerr
		}
		return SignInResult{Outcome: outcome}, err
	}
	pending, err := s.secondStepNeeded(ctx, acct, remember, remembered)
	if err != nil {
		return SignInResult{}, err
	}
	if pending != "" {
		// The password was no failure, but wrong second-step codes counted
		// before it must stay counted: take back only this attempt.
		if err := s.Store.UncountSignInAttempt(book, acct.ID); err != nil {
			return SignInResult{}, err
		}
		return SignInResult{Outcome: NeedsSecondFactor, Pending: pending}, nil
	}
	ns, err := s.signedIn(ctx, book, acct, remember, false, oldToken, c)
	if err != nil {
		return SignInResult{}, err
	}
	return SignInResult{Outcome: SignedIn, Session: ns}, nil
}

// admission says whether acct may be signed in once its credentials are
// proven (a password, a passkey, a second step): ErrLockedByAdmin, or
// EmailUnconfirmed while a confirmed email is required; 0 when it may.
func (s *Service) admission(acct store.Account) (SignInOutcome, error) {
	if acct.LockedByAdmin {
		return 0, ErrLockedByAdmin
	}
	if s.Policy.RequireConfirmedEmail && !acct.EmailConfirmed {
		return EmailUnconfirmed, nil
	}
	return 0, nil
}

// countSignIn counts a decided sign-in in the metrics; failures of our
// own (a database error) are no outcome of the attempt and are not counted.
func (s *Service) countSignIn(res SignInResult, err error) {
	var t *ThrottledError
	switch {
	case err == nil && res.Outcome == SignedIn:
		s.Metrics.SignIn(metrics.SignInSucceeded)
	case err == nil && res.Outcome == EmailUnconfirmed:
		s.Metrics.SignIn(metrics.SignInUnconfirmed)
	case err == nil && res.Outcome == NeedsSecondFactor:
		s.Metrics.SignIn(metrics.SignInSecondStep)
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrWrongSignInCode), errors.Is(err, ErrWrongRecoveryCode):
		s.Metrics.SignIn(metrics.SignInBadCredentials)
	case errors.Is(err, ErrLockedByAdmin), errors.Is(err, ErrLockedOut):
		s.Metrics.SignIn(metrics.SignInLocked)
	case errors.As(err, &t) && t.Reason == ReasonNetworkSignIns:
		s.Metrics.SignIn(metrics.SignInThrottled)
	case errors.As(err, &t):
		s.Metrics.SignIn(metrics.SignInLocked)
	}
}

// signedIn starts the session of a finished sign-in (password, second
// step or passkey), ending the browser's old session (oldToken, if any) so a
// session id never survives a sign-in; book carries the bookkeeping past a
// client that hangs up.
func (s *Service) signedIn(ctx, book context.Context, acct store.Account, remember, passkey bool, oldToken string, c Client) (NewSession, error) {
	if oldToken != "" {
		if err := s.Sessions.Delete(ctx, s.Store.DB, secrets.Hash(oldToken)); err != nil {
			return NewSession{}, err
		}
	}
	return s.startSession(book, acct, remember, passkey, c)
}

// startSession clears the failure count, stamps the sign-in time and
// creates the session, with the browser and IP of c, in one transaction;
// ErrLockedOut when the account became locked meanwhile.
func (s *Service) startSession(ctx context.Context, acct store.Account, remember, passkey bool, c Client) (NewSession, error) {
	stamp := s.Store.StampSignIn
	if passkey {
		// A passkey is no password: the password lockout does not apply to
		// it, and it leaves that lockout and count as they are.
		stamp = s.Store.StampPasskeySignIn
	}
	var ns NewSession
	err := s.Store.DB.InTx(ctx, func(tx *sql.Tx) error {
		ok, err := stamp(ctx, tx, acct.ID)
		if err != nil {
			return err
		}
		if !ok {
			return ErrLockedOut
		}
		// Expired sessions are dead already; sign-in is a cheap moment to drop them.
		if err := s.Store.DeleteExpiredSessions(ctx, tx); err != nil {
			return err
		}
		ns.Token, ns.Session, err = s.Sessions.Create(ctx, tx, acct.ID, acct.SecurityStamp, remember, session.Client{UserAgent: c.UserAgent, IP: c.IP})
		return err
	})
	return ns, err
}

// checkPassword counts the attempt before the (slow) password check, so
// parallel guesses cannot get past the lockout: at most maxFailedSignIns
// attempts are ever counted or in flight. A right password leaves the
// count for the caller to clear (a session start, or ClearSignInFailures);
// a wrong one returns wrong, or a ThrottledError with lockedNow once it
// locks the account; a locked account gives locked without a check.
func (s *Service) checkPassword(book context.Context, acct store.Account, pw string, c Client, locked, lockedNow Reason, wrong error) error {
	return s.checkAttempt(book, acct, c, locked, lockedNow, wrong, func(counted bool) (bool, error) {
		if !counted {
			s.verifyPassword("", s.dummyHash()) // same cost as a real attempt
			return false, nil
		}
		return s.verifyPassword(pw, acct.PasswordHash)
	})
}

// checkAttempt is checkPassword for any secret: verify compares it (told
// whether the attempt was counted; an uncounted one is refused whatever
// verify says, so verify only evens out the time taken).
func (s *Service) checkAttempt(book context.Context, acct store.Account, c Client, locked, lockedNow Reason, wrong error, verify func(counted bool) (bool, error)) error {
	counted, err := s.Store.CountSignInAttempt(book, acct.ID, maxFailedSignIns)
	if err != nil {
		return err
	}
	if !counted {
		wait, err := s.lockedFor(book, acct.ID, c)
		if err != nil {
			return err
		}
		if _, err := verify(false); err != nil {
			return err
		}
		return throttled(locked, wait)
	}
	ok, err := verify(true)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	until, err := s.lockOut(book, acct.ID, c)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		s.Log.WarnContext(book, "account locked out after failed sign-ins", "user_id", acct.ID, "client_ip", c.IP)
		return throttled(lockedNow, until.Sub(s.Clock.Now()))
	}
	return wrong
}

// lockedFor is how long an account whose attempt could not be counted
// stays locked. When maxFailedSignIns attempts are counted but none has
// locked it (they are in flight, or a crash left them), it locks now.
func (s *Service) lockedFor(ctx context.Context, userID string, c Client) (time.Duration, error) {
	now := s.Clock.Now()
	end, err := s.Store.LockoutEnd(ctx, userID)
	if err != nil {
		return 0, err
	}
	if end.After(now) {
		return end.Sub(now), nil
	}
	until, err := s.lockOut(ctx, userID, c)
	if err != nil {
		return 0, err
	}
	if until.IsZero() {
		return time.Second, nil // another request locked or cleared it just now
	}
	return until.Sub(now), nil
}

// lockOut locks the account once maxFailedSignIns failures are counted,
// with its audit row; it returns the lockout end (zero when not locked).
func (s *Service) lockOut(ctx context.Context, userID string, c Client) (time.Time, error) {
	until := s.Clock.Now().Add(signInLockout)
	var locked bool
	err := s.Store.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if locked, err = s.Store.LockOutAfterFailures(ctx, tx, userID, maxFailedSignIns, until); err != nil || !locked {
			return err
		}
		return s.Store.WriteAudit(ctx, tx, audit{SubjectID: userID, Action: "signin.locked_out", Detail: fmt.Sprintf("%d failed sign-ins", maxFailedSignIns), ClientIP: c.IP})
	})
	if err != nil || !locked {
		return time.Time{}, err
	}
	return until, nil
}

// reauthenticate checks the signed-in user's current password before a
// sensitive change. Wrong passwords count towards the sign-in lockout, so
// a borrowed session cannot be used to guess the password.
func (s *Service) reauthenticate(ctx context.Context, acct store.Account, pw string, c Client) error {
	book := context.WithoutCancel(ctx)
	if err := s.checkPassword(book, acct, pw, c, ReasonPasswordLocked, ReasonPasswordLockedNow, ErrWrongPassword); err != nil {
		return err
	}
	// The counted attempt was no failure.
	return s.Store.ClearSignInFailures(book, acct.ID)
}

// ErrNoSession means a session token does not (or no longer) sign anyone in.
var ErrNoSession = errors.New("no live session")

// Authenticate returns the account behind a session token and the hash
// that identifies the session: a live session whose stamp still matches
// the user's security stamp, on an account an admin has not locked, and
// notes that the session was used. Anything else is ErrNoSession, and a
// stale session is deleted.
func (s *Service) Authenticate(ctx context.Context, token string) (store.Account, string, error) {
	idHash := secrets.Hash(token)
	acct, stamp, err := s.Store.AccountBySession(ctx, idHash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, "", ErrNoSession
	}
	if err != nil {
		return store.Account{}, "", err
	}
	if stamp != acct.SecurityStamp || acct.LockedByAdmin {
		if err := s.Sessions.Delete(ctx, s.Store.DB, idHash); err != nil {
			s.Log.ErrorContext(ctx, "delete stale session", "err", err)
		}
		return store.Account{}, "", ErrNoSession
	}
	// Last seen is noted off the request path: at most once a minute per
	// session, written in batches by the session store's writer.
	s.Sessions.Seen(s.Store.DB, idHash)
	return acct, idHash, nil
}

// SignOut ends the session of token.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.Sessions.Delete(ctx, s.Store.DB, secrets.Hash(token))
}
