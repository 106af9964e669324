package account

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"html/template"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/twofactor"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// Issuer names the account in authenticator apps.
const Issuer = "SimpleModule"

// Errors of two-factor management.
var (
	ErrTwoFactorOff      = contracts.ErrTwoFactorOff
	ErrNoPendingKey      = errors.New("no authenticator key is being set up")
	ErrPhoneNotConfirmed = errors.New("no confirmed phone number")
	ErrWrongSetupCode    = errors.New("wrong authenticator code")
	ErrTwoFactorChanged  = errors.New("two-factor sign-in changed meanwhile")
)

// twoFactorKeys are the keys two-factor sign-in uses, each derived from
// the app secret for its one purpose.
type twoFactorKeys struct {
	sealer   *twofactor.Sealer // authenticator keys at rest
	pending  twofactor.Signer  // the half-signed-in state
	remember twofactor.Signer  // remembered browsers
	recovery []byte            // recovery code hashes
}

func newTwoFactorKeys(secret []byte) twoFactorKeys {
	return twoFactorKeys{
		sealer:   twofactor.NewSealer(secrets.Derive(secret, "two-factor authenticator keys")),
		pending:  twofactor.Signer{Key: secrets.Derive(secret, "two-factor pending sign-in")},
		remember: twofactor.Signer{Key: secrets.Derive(secret, "two-factor remembered browsers")},
		recovery: secrets.Derive(secret, "two-factor recovery codes"),
	}
}

// TwoFactorStatus is a user's two-factor sign-in, as the status page shows it.
type TwoFactorStatus = contracts.TwoFactor

// TwoFactorStatus returns the user's two-factor status and methods.
func (s *Service) TwoFactorStatus(ctx context.Context, userID string) (TwoFactorStatus, error) {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return TwoFactorStatus{}, err
	}
	tf, err := s.Store.TwoFactor(ctx, s.Store.DB, userID)
	if err != nil {
		return TwoFactorStatus{}, err
	}
	return status(acct, tf), nil
}

func status(acct store.Account, tf store.TwoFactor) TwoFactorStatus {
	return TwoFactorStatus{
		Enabled: tf.Enabled, Authenticator: tf.Secret != "", SMS: tf.Phone != "", SMSNumber: tf.Phone,
		SMSUsable: smsUsable(acct, tf), RecoveryLeft: tf.RecoveryLeft,
	}
}

// smsUsable: SMS signs in only while the number it was turned on for is
// still the user's confirmed number (SPEC §8).
func smsUsable(acct store.Account, tf store.TwoFactor) bool {
	return tf.Enabled && tf.Phone != "" && tf.Phone == acct.PhoneNumber && acct.PhoneNumberConfirmed
}

// AuthenticatorSetup is what the setup page shows.
type AuthenticatorSetup struct {
	Key   string       // base32, in groups of four
	URL   string       // otpauth://
	QRPNG template.URL // data: URI of the QR code (a PNG made here, so safe as a URL)
}

// AuthenticatorSetup returns the key being set up for u, creating one the
// first time; reloading the page shows the same key until a code confirms it.
func (s *Service) AuthenticatorSetup(ctx context.Context, u contracts.User) (AuthenticatorSetup, error) {
	var key string
	err := s.Store.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.Store.LockPhone(ctx, tx, u.ID); err != nil {
			return err
		}
		tf, err := s.Store.TwoFactor(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if tf.PendingSecret != "" {
			if key, err = s.tf.sealer.Open(u.ID, tf.PendingSecret); err == nil {
				return nil
			}
		}
		if key, err = twofactor.NewKey(); err != nil {
			return err
		}
		sealed, err := s.tf.sealer.Seal(u.ID, key)
		if err != nil {
			return err
		}
		return s.Store.SetPendingAuthenticator(ctx, tx, u.ID, sealed)
	})
	if err != nil {
		return AuthenticatorSetup{}, err
	}
	url, png, err := twofactor.Enrolment(Issuer, u.Email, key, 200)
	if err != nil {
		return AuthenticatorSetup{}, err
	}
	return AuthenticatorSetup{Key: twofactor.GroupKey(key), URL: url, QRPNG: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))}, nil
}

// EnableAuthenticator checks code against the key being set up and, when
// right, makes it the user's authenticator: two-factor turns on (when it
// was off, with new recovery codes, returned to be shown once), the stamp
// rotates (keepSession stays signed in), an audit row and the
// TwoFactorEnabled event. While two-factor is on already, adding or
// replacing the authenticator also asks for the password, so a borrowed
// session alone cannot swap the owner's second factor for its own.
// Errors: ErrWrongSetupCode, ErrNoPendingKey, ErrWrongPassword, a ThrottledError.
func (s *Service) EnableAuthenticator(ctx context.Context, userID, code, password, keepSession string, c Client) ([]string, error) {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if acct.TwoFactorEnabled {
		if err := s.reauthenticate(ctx, acct, password, c); err != nil {
			return nil, err
		}
	}
	var codes []string
	var refused error
	err = s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.LockPhone(ctx, tx, userID); err != nil {
			return err
		}
		tf, err := s.Store.TwoFactor(ctx, tx, userID)
		if err != nil {
			return err
		}
		if tf.Enabled && !acct.TwoFactorEnabled {
			return ErrTwoFactorChanged // turned on meanwhile, without the password asked for
		}
		key, err := s.tf.sealer.Open(userID, tf.PendingSecret)
		if tf.PendingSecret == "" || err != nil {
			refused = ErrNoPendingKey
			return nil
		}
		step, ok := twofactor.MatchStep(key, code, s.Clock.Now())
		if !ok {
			refused = ErrWrongSetupCode
			return nil
		}
		if err := s.Store.EnableAuthenticator(ctx, tx, userID, tf.PendingSecret, step); err != nil {
			return err
		}
		codes, err = s.turnedOn(ctx, tx, emit, userID, tf, contracts.MethodAuthenticator, keepSession, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return codes, refused
}

// EnableSMSTwoFactor turns on SMS to the user's confirmed number as a
// method, after the password; see EnableAuthenticator for the rest.
// Errors: ErrPhoneNotConfirmed, ErrWrongPassword, a ThrottledError.
func (s *Service) EnableSMSTwoFactor(ctx context.Context, userID, password, keepSession string, c Client) ([]string, error) {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if acct.PhoneNumber == "" || !acct.PhoneNumberConfirmed {
		return nil, ErrPhoneNotConfirmed
	}
	if err := s.reauthenticate(ctx, acct, password, c); err != nil {
		return nil, err
	}
	var codes []string
	err = s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		st, err := s.Store.PhoneState(ctx, tx, userID, store.PurposeTwoFactor, true)
		if err != nil {
			return err
		}
		if st.Number == "" || !st.Confirmed {
			return ErrPhoneNotConfirmed // removed in between
		}
		tf, err := s.Store.TwoFactor(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := s.Store.EnableSMSTwoFactor(ctx, tx, userID, st.Number); err != nil {
			return err
		}
		codes, err = s.turnedOn(ctx, tx, emit, userID, tf, contracts.MethodSMS, keepSession, c)
		return err
	})
	return codes, err
}

// turnedOn finishes turning a method on inside tx: recovery codes when
// two-factor was off (returned), the stamp, the audit row and the event.
func (s *Service) turnedOn(ctx context.Context, tx *sql.Tx, emit func(any) error, userID string, before store.TwoFactor, method, keepSession string, c Client) ([]string, error) {
	var codes []string
	first := !before.Enabled
	if first {
		var err error
		if codes, err = s.replaceRecoveryCodes(ctx, tx, userID); err != nil {
			return nil, err
		}
	}
	if err := s.rotateStamp(ctx, tx, userID, keepSession); err != nil {
		return nil, err
	}
	if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "two_factor.enabled", Detail: method, ClientIP: c.IP}); err != nil {
		return nil, err
	}
	return codes, emit(contracts.TwoFactorEnabled{UserID: userID, Method: method, First: first})
}

func (s *Service) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID string) ([]string, error) {
	codes, err := twofactor.NewRecoveryCodes()
	if err != nil {
		return nil, err
	}
	hashes := make([]string, len(codes))
	for i, code := range codes {
		n, _ := twofactor.NormalizeRecoveryCode(code)
		hashes[i] = twofactor.HashRecoveryCode(s.tf.recovery, userID, n)
	}
	return codes, s.Store.ReplaceRecoveryCodes(ctx, tx, userID, hashes)
}

// RegenerateRecoveryCodes replaces every recovery code after the password
// and returns the new ones, to be shown once; the stamp rotates.
// Errors: ErrTwoFactorOff, ErrWrongPassword, a ThrottledError.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID, password, keepSession string, c Client) ([]string, error) {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !acct.TwoFactorEnabled {
		return nil, ErrTwoFactorOff
	}
	if err := s.reauthenticate(ctx, acct, password, c); err != nil {
		return nil, err
	}
	var codes []string
	err = s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.lockTwoFactorOn(ctx, tx, userID); err != nil {
			return err
		}
		var err error
		if codes, err = s.replaceRecoveryCodes(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.rotateStamp(ctx, tx, userID, keepSession); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "two_factor.recovery_codes_replaced", ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.RecoveryCodesReplaced{UserID: userID})
	})
	return codes, err
}

// DisableTwoFactor turns two-factor off after the password: methods,
// recovery codes and remembered browsers go, the stamp rotates.
// Errors: ErrTwoFactorOff, ErrWrongPassword, a ThrottledError.
func (s *Service) DisableTwoFactor(ctx context.Context, userID, password, keepSession string, c Client) error {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return err
	}
	if !acct.TwoFactorEnabled {
		return ErrTwoFactorOff
	}
	if err := s.reauthenticate(ctx, acct, password, c); err != nil {
		return err
	}
	return s.disableTwoFactor(ctx, userID, userID, keepSession, c)
}

// AdminDisableTwoFactor turns the user's two-factor off for an
// administrator; every session of the user ends. Errors: ErrNotFound,
// ErrTwoFactorOff (both found under the user's lock).
func (s *Service) AdminDisableTwoFactor(ctx context.Context, actorID, userID string, c Client) error {
	return s.disableTwoFactor(ctx, actorID, userID, "", c)
}

func (s *Service) disableTwoFactor(ctx context.Context, actorID, userID, keepSession string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.lockTwoFactorOn(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.Store.DisableTwoFactor(ctx, tx, userID, secrets.Token(16)); err != nil {
			return err
		}
		if err := s.rotateStamp(ctx, tx, userID, keepSession); err != nil {
			return err
		}
		if err := s.Store.DeletePhoneCodes(ctx, tx, userID, store.PurposeTwoFactor); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: actorID, SubjectID: userID, Action: "two_factor.disabled", ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.TwoFactorDisabled{UserID: userID, ActorID: actorID})
	})
}

// lockTwoFactorOn takes the user's row lock for a change of two-factor
// state (so parallel changes run one after the other on PostgreSQL, and
// each sees the last one's result) and checks two-factor is still on.
func (s *Service) lockTwoFactorOn(ctx context.Context, tx *sql.Tx, userID string) error {
	if err := s.Store.LockPhone(ctx, tx, userID); err != nil {
		return err
	}
	tf, err := s.Store.TwoFactor(ctx, tx, userID)
	if err != nil {
		return err
	}
	if !tf.Enabled {
		return ErrTwoFactorOff
	}
	return nil
}

// ForgetBrowsers forgets every browser the user asked to remember.
func (s *Service) ForgetBrowsers(ctx context.Context, userID string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, _ func(any) error) error {
		if err := s.Store.SetRememberKey(ctx, tx, userID, secrets.Token(16)); err != nil {
			return err
		}
		return s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "two_factor.browsers_forgotten", ClientIP: c.IP})
	})
}
