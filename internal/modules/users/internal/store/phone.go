package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// PurposePhoneVerification binds codes to phone number confirmation.
const PurposePhoneVerification = "phone-verification"

// PhoneCode is a user's latest code for one purpose.
type PhoneCode struct {
	PhoneNumber string
	Hash        string // hex HMAC of the code, bound to (purpose, user, number)
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Attempts    int
	Consumed    bool
}

// LockPhone serialises every transaction that reads or changes the user's
// phone state (codes, number, lock), across instances: on PostgreSQL it
// locks the user's row until the transaction ends. SQLite transactions are
// IMMEDIATE and already serial.
func (s *Store) LockPhone(ctx context.Context, tx Queryer, userID string) error {
	if s.DB.Dialect != database.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
		return fmt.Errorf("lock phone state: %w", err)
	}
	return nil
}

// PhoneState is a user's phone number, its lock, and the latest code of one
// purpose, read together.
type PhoneState struct {
	Number      string // E.164, "" when none
	Confirmed   bool
	LockedUntil time.Time // phone verification locked until then (zero: not locked)
	Code        PhoneCode
	HasCode     bool
}

// PhoneState reads the user's phone state in one statement inside q; with
// lock, it takes LockPhone's lock first. (Not FOR UPDATE on the same
// statement: PostgreSQL would then read the code row from the snapshot
// taken before the lock was granted, missing a code another transaction
// has just committed.)
func (s *Store) PhoneState(ctx context.Context, q Queryer, userID, purpose string, lock bool) (PhoneState, error) {
	if lock {
		if err := s.LockPhone(ctx, q, userID); err != nil {
			return PhoneState{}, err
		}
	}
	var st PhoneState
	var number, codeNumber, hash sql.NullString
	var until, created, expires, attempts, consumed sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT u.phone_number, u.phone_number_confirmed, u.phone_locked_until,
		c.phone_number, c.code_hash, c.created_at, c.expires_at, c.attempts, c.consumed_at
		FROM users u LEFT JOIN phone_codes c ON c.user_id = u.id AND c.purpose = $2 WHERE u.id = $1`, userID, purpose).
		Scan(&number, &st.Confirmed, &until, &codeNumber, &hash, &created, &expires, &attempts, &consumed)
	if errors.Is(err, sql.ErrNoRows) {
		return PhoneState{}, ErrNotFound
	}
	if err != nil {
		return PhoneState{}, fmt.Errorf("read phone state: %w", err)
	}
	st.Number, st.LockedUntil = number.String, fromMS(until)
	if st.HasCode = codeNumber.Valid; st.HasCode {
		st.Code = PhoneCode{PhoneNumber: codeNumber.String, Hash: hash.String, CreatedAt: time.UnixMilli(created.Int64),
			ExpiresAt: time.UnixMilli(expires.Int64), Attempts: int(attempts.Int64), Consumed: consumed.Valid}
	}
	return st, nil
}

// LockPhoneVerification locks the user's phone verification until `until`
// and forgets the failures that led to it, inside q.
func (s *Store) LockPhoneVerification(ctx context.Context, q Queryer, userID string, until time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE users SET phone_locked_until = $2 WHERE id = $1`, userID, ms(until)); err != nil {
		return fmt.Errorf("lock phone verification: %w", err)
	}
	return s.ClearPhoneFailures(ctx, q, userID)
}

// ReplacePhoneCode stores c as the user's only code of purpose inside q.
func (s *Store) ReplacePhoneCode(ctx context.Context, q Queryer, userID, purpose string, c PhoneCode) error {
	if err := s.DeletePhoneCodes(ctx, q, userID, purpose); err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO phone_codes (user_id, purpose, phone_number, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		userID, purpose, c.PhoneNumber, c.Hash, ms(c.CreatedAt), ms(c.ExpiresAt)); err != nil {
		return fmt.Errorf("store code: %w", err)
	}
	return nil
}

// DeletePhoneCodes withdraws the user's codes of purpose inside q.
func (s *Store) DeletePhoneCodes(ctx context.Context, q Queryer, userID, purpose string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM phone_codes WHERE user_id = $1 AND purpose = $2`, userID, purpose); err != nil {
		return fmt.Errorf("delete codes: %w", err)
	}
	return nil
}

// ExpirePhoneCodes ends the user's live codes now, keeping the rows (their
// created_at carries the resend cooldown), inside q.
func (s *Store) ExpirePhoneCodes(ctx context.Context, q Queryer, userID string) error {
	now := ms(s.Clock.Now())
	if _, err := q.ExecContext(ctx, `UPDATE phone_codes SET expires_at = $2 WHERE user_id = $1 AND expires_at > $2`, userID, now); err != nil {
		return fmt.Errorf("end pending codes: %w", err)
	}
	return nil
}

// SetPhoneCodeAttempts stores the number of wrong tries of the user's code
// of purpose inside q.
func (s *Store) SetPhoneCodeAttempts(ctx context.Context, q Queryer, userID, purpose string, attempts int) error {
	if _, err := q.ExecContext(ctx, `UPDATE phone_codes SET attempts = $3 WHERE user_id = $1 AND purpose = $2`, userID, purpose, attempts); err != nil {
		return fmt.Errorf("count attempt: %w", err)
	}
	return nil
}

// ConsumePhoneCode marks the user's code of purpose used inside q; false
// means another request used it first.
func (s *Store) ConsumePhoneCode(ctx context.Context, q Queryer, userID, purpose string) (bool, error) {
	return execOne(ctx, q, "consume code", `UPDATE phone_codes SET consumed_at = $3 WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL`,
		userID, purpose, ms(s.Clock.Now()))
}

// AddPhoneFailure records one failed confirmation, drops failures that
// happened before since, and returns how many remain, inside q.
func (s *Store) AddPhoneFailure(ctx context.Context, q Queryer, userID string, since time.Time) (int, error) {
	if _, err := q.ExecContext(ctx, `INSERT INTO phone_failures (id, user_id, at) VALUES ($1, $2, $3)`, secrets.ID(), userID, ms(s.Clock.Now())); err != nil {
		return 0, fmt.Errorf("record failure: %w", err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM phone_failures WHERE user_id = $1 AND at <= $2`, userID, ms(since)); err != nil {
		return 0, fmt.Errorf("trim failures: %w", err)
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM phone_failures WHERE user_id = $1 AND at > $2`, userID, ms(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count failures: %w", err)
	}
	return n, nil
}

// ClearPhoneFailures forgets the user's failed confirmations inside q.
func (s *Store) ClearPhoneFailures(ctx context.Context, q Queryer, userID string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM phone_failures WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("clear failures: %w", err)
	}
	return nil
}

// PhoneNumber returns the user's stored number ("" when none) and whether
// it is confirmed, read inside q.
func (s *Store) PhoneNumber(ctx context.Context, q Queryer, userID string) (string, bool, error) {
	var number sql.NullString
	var confirmed bool
	if err := q.QueryRowContext(ctx, `SELECT phone_number, phone_number_confirmed FROM users WHERE id = $1`, userID).Scan(&number, &confirmed); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", false, ErrNotFound
		}
		return "", false, fmt.Errorf("read number: %w", err)
	}
	return number.String, confirmed, nil
}

// SetPhoneNumber stores number ("" clears it) with its confirmation inside q.
func (s *Store) SetPhoneNumber(ctx context.Context, q Queryer, userID, number string, confirmed bool) error {
	var v sql.NullString
	if number != "" {
		v = sql.NullString{String: number, Valid: true}
	}
	if _, err := q.ExecContext(ctx, `UPDATE users SET phone_number = $2, phone_number_confirmed = $3 WHERE id = $1`, userID, v, confirmed); err != nil {
		return fmt.Errorf("set phone number: %w", err)
	}
	return nil
}

// UnconfirmPhoneNumber marks number unverified inside q, only while it is
// still the user's confirmed number; false means nothing changed.
func (s *Store) UnconfirmPhoneNumber(ctx context.Context, q Queryer, userID, number string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE users SET phone_number_confirmed = FALSE WHERE id = $1 AND phone_number = $2 AND phone_number_confirmed = TRUE`, userID, number)
	if err != nil {
		return false, fmt.Errorf("unconfirm phone number: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetDisplayName stores the display name inside q.
func (s *Store) SetDisplayName(ctx context.Context, q Queryer, userID, name string) error {
	if _, err := q.ExecContext(ctx, `UPDATE users SET display_name = $2 WHERE id = $1`, userID, name); err != nil {
		return fmt.Errorf("set display name: %w", err)
	}
	return nil
}
