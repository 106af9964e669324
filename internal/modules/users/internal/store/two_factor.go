package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// PurposeTwoFactor binds SMS sign-in codes (SPEC §8).
const PurposeTwoFactor = "two_factor"

// TwoFactor is a user's two-factor state.
type TwoFactor struct {
	Enabled       bool
	Secret        string // sealed authenticator key, "" when the authenticator is off
	PendingSecret string // sealed key the setup page shows, "" when none
	LastStep      int64  // last accepted time step (0: none)
	Phone         string // number SMS two-factor was turned on for, "" when off
	RememberKey   string
	RecoveryLeft  int // unused recovery codes
}

// TwoFactor reads the user's two-factor state inside q.
func (s *Store) TwoFactor(ctx context.Context, q Queryer, userID string) (TwoFactor, error) {
	var t TwoFactor
	var secret, pending, phone sql.NullString
	var step sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT u.two_factor_enabled, u.totp_secret, u.totp_pending_secret, u.totp_last_step, u.two_factor_phone,
		u.two_factor_remember_key, (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL)
		FROM users u WHERE u.id = $1`, userID).Scan(&t.Enabled, &secret, &pending, &step, &phone, &t.RememberKey, &t.RecoveryLeft)
	if errors.Is(err, sql.ErrNoRows) {
		return TwoFactor{}, ErrNotFound
	}
	if err != nil {
		return TwoFactor{}, fmt.Errorf("read two-factor state: %w", err)
	}
	t.Secret, t.PendingSecret, t.LastStep, t.Phone = secret.String, pending.String, step.Int64, phone.String
	return t, nil
}

// execOne runs a guarded statement and reports whether it changed exactly
// one row (false: the guard held it back, e.g. a code used already).
func execOne(ctx context.Context, q Queryer, what, query string, args ...any) (bool, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *Store) exec(ctx context.Context, q Queryer, what, query string, args ...any) error {
	if _, err := q.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// SetPendingAuthenticator stores the sealed key the setup page shows.
func (s *Store) SetPendingAuthenticator(ctx context.Context, q Queryer, userID, sealed string) error {
	return s.exec(ctx, q, "store pending authenticator key", `UPDATE users SET totp_pending_secret = $2 WHERE id = $1`, userID, sealed)
}

// EnableAuthenticator makes the sealed key the user's authenticator, step
// the last one used, and turns two-factor on.
func (s *Store) EnableAuthenticator(ctx context.Context, q Queryer, userID, sealed string, step int64) error {
	return s.exec(ctx, q, "enable authenticator", `UPDATE users SET totp_secret = $2, totp_pending_secret = NULL, totp_last_step = $3,
		two_factor_enabled = TRUE WHERE id = $1`, userID, sealed, step)
}

// EnableSMSTwoFactor binds SMS two-factor to number and turns two-factor on.
func (s *Store) EnableSMSTwoFactor(ctx context.Context, q Queryer, userID, number string) error {
	return s.exec(ctx, q, "enable SMS two-factor", `UPDATE users SET two_factor_phone = $2, two_factor_enabled = TRUE WHERE id = $1`, userID, number)
}

// DisableTwoFactor turns two-factor off: methods, recovery codes and
// remembered browsers (a new rememberKey) all go.
func (s *Store) DisableTwoFactor(ctx context.Context, q Queryer, userID, rememberKey string) error {
	if err := s.exec(ctx, q, "disable two-factor", `UPDATE users SET two_factor_enabled = FALSE, totp_secret = NULL, totp_pending_secret = NULL,
		two_factor_phone = NULL, two_factor_remember_key = $2 WHERE id = $1`, userID, rememberKey); err != nil {
		return err
	}
	return s.exec(ctx, q, "delete recovery codes", `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
}

// UseAuthenticatorStep records step as used; false means it (or a later
// one) was used already.
func (s *Store) UseAuthenticatorStep(ctx context.Context, q Queryer, userID string, step int64) (bool, error) {
	return execOne(ctx, q, "use authenticator step", `UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_secret IS NOT NULL
		AND (totp_last_step IS NULL OR totp_last_step < $2)`, userID, step)
}

// ReplaceRecoveryCodes makes hashes the user's only recovery codes.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, q Queryer, userID string, hashes []string) error {
	if err := s.exec(ctx, q, "delete recovery codes", `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	now := ms(s.Clock.Now())
	for _, h := range hashes {
		if err := s.exec(ctx, q, "store recovery code", `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)`, userID, h, now); err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode marks the user's code with hash used; false means there
// is no such unused code.
func (s *Store) UseRecoveryCode(ctx context.Context, q Queryer, userID, hash string) (bool, error) {
	return execOne(ctx, q, "use recovery code", `UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		userID, hash, ms(s.Clock.Now()))
}

// SetRememberKey replaces the key of remembered browsers (forgetting them).
func (s *Store) SetRememberKey(ctx context.Context, q Queryer, userID, key string) error {
	return s.exec(ctx, q, "forget remembered browsers", `UPDATE users SET two_factor_remember_key = $2 WHERE id = $1`, userID, key)
}
