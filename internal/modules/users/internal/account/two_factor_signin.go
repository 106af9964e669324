package account

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/twofactor"
	"github.com/simplemodule-go/simplemodule/internal/platform/otp"
)

// Lifetimes of the two-factor sign-in state.
const (
	PendingSignInTTL   = 5 * time.Minute     // between the password and the second step
	RememberBrowserTTL = 30 * 24 * time.Hour // "remember this browser"
	signInCodeTTL      = 5 * time.Minute     // SMS sign-in codes
	// secondStepFailuresPerDay caps wrong second-step codes per account per
	// day on top of the lockout (5 per 15 minutes): without it, someone who
	// knows the password could guess codes lockout after lockout, 480 a day.
	secondStepFailuresPerDay = 20
	secondStepFailureWindow  = 24 * time.Hour
)

const purposeTwoFactor = store.PurposeTwoFactor

// Errors of the second step.
var (
	ErrSecondStepExpired = errors.New("the sign-in has expired; sign in again")
	ErrSMSUnavailable    = errors.New("SMS is not a usable method")
	ErrWrongRecoveryCode = errors.New("wrong or used recovery code")
	ErrWrongSignInCode   = errors.New("wrong authenticator or SMS code")
)

var signInCode = codeKind{
	purpose: purposeTwoFactor, audit: "two_factor.code_sent", what: "sign-in", ref: "two-factor:",
	ttl: func(*Service) time.Duration { return signInCodeTTL },
}

// secondStepNeeded decides, for a right password, whether the account
// needs the second step: two-factor is on and remembered is no valid
// "remember this browser" token of the account. When it does, it returns
// the half-signed-in token (the cookie) bound to the stamp.
func (s *Service) secondStepNeeded(ctx context.Context, acct store.Account, remember bool, remembered string) (string, error) {
	if !acct.TwoFactorEnabled {
		return "", nil
	}
	tf, err := s.Store.TwoFactor(ctx, s.Store.DB, acct.ID)
	if err != nil {
		return "", err
	}
	if s.browserRemembered(acct, tf, remembered) {
		return "", nil
	}
	expires := strconv.FormatInt(s.Clock.Now().Add(PendingSignInTTL).UnixMilli(), 10)
	return s.tf.pending.Sign(acct.SecurityStamp, acct.ID, expires, strconv.FormatBool(remember)), nil
}

func (s *Service) browserRemembered(acct store.Account, tf store.TwoFactor, token string) bool {
	f, ok := twofactor.Fields(token, 2)
	if !ok || f[0] != acct.ID || s.expired(f[1]) {
		return false
	}
	return s.tf.remember.Valid(token, acct.SecurityStamp+"\x00"+tf.RememberKey)
}

// expired reports whether a token's expiry (Unix milliseconds) has passed.
func (s *Service) expired(ms string) bool {
	v, err := strconv.ParseInt(ms, 10, 64)
	return err != nil || !s.Clock.Now().Before(time.UnixMilli(v))
}

// SecondStep is the half-signed-in state, as the second-step page needs it.
type SecondStep struct {
	Account       store.Account
	Remember      bool // the first step's "remember me"
	Authenticator bool
	SMSUsable     bool
	SMSNumber     string // E.164 of the number a code would go to

	tf     store.TwoFactor // the account's two-factor state, read when opened
	opened bool            // made by Service.SecondStep from a valid token
}

// SecondStep opens the half-signed-in token, once per request: the other
// second-step use cases take what it returns. ErrSecondStepExpired when it
// is not valid (any more): expired, forged, the stamp rotated since, or
// two-factor turned off, or the email must be confirmed again;
// ErrLockedByAdmin when an admin locked the account.
func (s *Service) SecondStep(ctx context.Context, token string) (SecondStep, error) {
	f, ok := twofactor.Fields(token, 3)
	if !ok || s.expired(f[1]) {
		return SecondStep{}, ErrSecondStepExpired
	}
	acct, err := s.Store.AccountByID(ctx, f[0])
	if errors.Is(err, store.ErrNotFound) {
		return SecondStep{}, ErrSecondStepExpired
	}
	if err != nil {
		return SecondStep{}, err
	}
	if !s.tf.pending.Valid(token, acct.SecurityStamp) || !acct.TwoFactorEnabled {
		return SecondStep{}, ErrSecondStepExpired
	}
	// The password step's admission holds until the end. An email that
	// must be confirmed and no longer is (an administrator forced
	// re-verification meanwhile) sends the person back to that step, which
	// says why.
	if outcome, err := s.admission(acct); err != nil {
		return SecondStep{}, err
	} else if outcome != 0 {
		return SecondStep{}, ErrSecondStepExpired
	}
	tf, err := s.Store.TwoFactor(ctx, s.Store.DB, acct.ID)
	if err != nil {
		return SecondStep{}, err
	}
	st := SecondStep{Account: acct, Remember: f[2] == "true", Authenticator: tf.Secret != "", SMSUsable: smsUsable(acct, tf), tf: tf, opened: true}
	if st.SMSUsable {
		st.SMSNumber = tf.Phone
	}
	return st, nil
}

// SendSignInCode texts a sign-in code to the confirmed number of the
// half-signed-in account st, with the cooldown and caps of every code.
// Errors: ErrSecondStepExpired, ErrSMSUnavailable, a ThrottledError.
func (s *Service) SendSignInCode(ctx context.Context, st SecondStep, c Client) error {
	if !st.opened {
		return ErrSecondStepExpired
	}
	if !st.SMSUsable {
		return ErrSMSUnavailable
	}
	return s.sendCode(ctx, st.Account.ID, st.SMSNumber, signInCode, c)
}

// SecondStepResult is a finished sign-in: the session, and the token of
// "remember this browser" when asked for.
type SecondStepResult struct {
	Session         NewSession
	RememberBrowser string
	RememberUntil   time.Time
}

// CompleteSignIn finishes a sign-in with an authenticator code or the
// latest SMS sign-in code. Every attempt counts towards the account
// lockout before the code is compared, as a password does; a right code
// starts the session (ending oldToken's) and clears the count.
// Errors: ErrSecondStepExpired, ErrWrongSignInCode, ErrLockedByAdmin, a ThrottledError.
func (s *Service) CompleteSignIn(ctx context.Context, st SecondStep, code string, rememberBrowser bool, oldToken string, c Client) (SecondStepResult, error) {
	return s.completeSignIn(ctx, st, oldToken, rememberBrowser, c, ErrWrongSignInCode, func(book context.Context, st SecondStep) (bool, error) {
		return s.checkSignInCode(book, st, code)
	})
}

// CompleteSignInWithRecoveryCode finishes a sign-in with a recovery code,
// which is used up; the user is emailed (RecoveryCodeUsed).
// Errors: as CompleteSignIn, with ErrWrongRecoveryCode.
func (s *Service) CompleteSignInWithRecoveryCode(ctx context.Context, st SecondStep, code, oldToken string, c Client) (SecondStepResult, error) {
	return s.completeSignIn(ctx, st, oldToken, false, c, ErrWrongRecoveryCode, func(book context.Context, st SecondStep) (bool, error) {
		n, ok := twofactor.NormalizeRecoveryCode(code)
		if !ok {
			return false, nil
		}
		id := st.Account.ID
		var used bool
		err := s.change(book, func(tx *sql.Tx, emit func(any) error) error {
			var err error
			if used, err = s.Store.UseRecoveryCode(book, tx, id, twofactor.HashRecoveryCode(s.tf.recovery, id, n)); err != nil || !used {
				return err
			}
			tf, err := s.Store.TwoFactor(book, tx, id)
			if err != nil {
				return err
			}
			if err := s.Store.WriteAudit(book, tx, audit{ActorID: id, SubjectID: id, Action: "two_factor.recovery_code_used",
				Detail: strconv.Itoa(tf.RecoveryLeft) + " left", ClientIP: c.IP}); err != nil {
				return err
			}
			return emit(contracts.RecoveryCodeUsed{UserID: id, Left: tf.RecoveryLeft})
		})
		return used, err
	})
}

func (s *Service) completeSignIn(ctx context.Context, st SecondStep, oldToken string, rememberBrowser bool, c Client, wrong error,
	check func(book context.Context, st SecondStep) (bool, error)) (res SecondStepResult, err error) {
	if !st.opened {
		return SecondStepResult{}, ErrSecondStepExpired
	}
	defer func() { s.countSignIn(SignInResult{Outcome: SignedIn}, err) }()
	book := context.WithoutCancel(ctx)
	slot, wait, err := s.Limits.Reserve(book, "second-step-failure", st.Account.ID, secondStepFailuresPerDay, secondStepFailureWindow)
	if err != nil {
		return SecondStepResult{}, err
	}
	if wait > 0 {
		return SecondStepResult{}, throttled(ReasonSecondStepDaily, wait)
	}
	err = s.checkAttempt(book, st.Account, c, ReasonAccountLocked, ReasonAccountLockedNow, wrong, func(counted bool) (bool, error) {
		if !counted {
			return false, nil
		}
		return check(book, st)
	})
	// Only a wrong code keeps its slot (one that locked the account too);
	// a right code, or an attempt the lockout refused unseen, gives it back.
	var t *ThrottledError
	if failed := errors.Is(err, wrong) || (errors.As(err, &t) && t.Reason == ReasonAccountLockedNow); !failed {
		if rerr := s.Limits.Release(book, slot); rerr != nil {
			s.Log.ErrorContext(book, "release second-step slot", "err", rerr)
		}
	}
	if err != nil {
		return SecondStepResult{}, err
	}
	if res.Session, err = s.signedIn(ctx, book, st.Account, st.Remember, false, oldToken, c); err != nil {
		return SecondStepResult{}, err
	}
	if rememberBrowser {
		res.RememberUntil = s.Clock.Now().Add(RememberBrowserTTL)
		res.RememberBrowser = s.tf.remember.Sign(st.Account.SecurityStamp+"\x00"+st.tf.RememberKey, st.Account.ID,
			strconv.FormatInt(res.RememberUntil.UnixMilli(), 10))
	}
	return res, nil
}

// checkSignInCode compares code with the authenticator (each time step
// accepted once) and with the latest SMS sign-in code (counting its
// attempts; it burns at the maximum, as every code does).
func (s *Service) checkSignInCode(ctx context.Context, st SecondStep, code string) (bool, error) {
	id := st.Account.ID
	now := s.Clock.Now()
	if st.Authenticator {
		if key, err := s.tf.sealer.Open(id, st.tf.Secret); err == nil {
			if step, ok := twofactor.MatchStep(key, code, now); ok {
				return s.Store.UseAuthenticatorStep(ctx, s.Store.DB, id, step)
			}
		}
	}
	if !st.SMSUsable {
		return false, nil
	}
	var ok bool
	err := s.Store.DB.InTx(ctx, func(tx *sql.Tx) error {
		ok = false
		ps, err := s.Store.PhoneState(ctx, tx, id, purposeTwoFactor, true)
		if err != nil || !ps.HasCode {
			return err
		}
		p := ps.Code
		if p.Consumed || p.Attempts >= s.Policy.PhoneMaxAttempts || !now.Before(p.ExpiresAt) || p.PhoneNumber != st.SMSNumber {
			return nil
		}
		want, _ := hex.DecodeString(p.Hash)
		if !otp.Verify(s.CodeKey, purposeTwoFactor, id, p.PhoneNumber, otp.Normalize(code), want) {
			return s.Store.SetPhoneCodeAttempts(ctx, tx, id, purposeTwoFactor, p.Attempts+1)
		}
		ok, err = s.Store.ConsumePhoneCode(ctx, tx, id, purposeTwoFactor)
		return err
	})
	return ok, err
}
