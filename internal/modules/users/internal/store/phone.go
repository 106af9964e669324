package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/otp"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// PurposePhoneVerification binds codes to phone number confirmation.
const PurposePhoneVerification = "phone-verification"

// Phone verification outcomes the web layer maps to status and message.
var (
	ErrNoPendingCode = errors.New("no pending code")
	ErrWrongCode     = errors.New("wrong code")
	ErrCodeExpired   = errors.New("code expired")
	ErrCodeBurned    = errors.New("too many wrong attempts for this code")
	ErrCodeUsed      = errors.New("code already used")
	ErrWrongNumber   = errors.New("code was sent to another number")
)

// ThrottledError says an action is refused until RetryAfter has passed.
type ThrottledError struct {
	Reason     string
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled (%s): retry after %s", e.Reason, e.RetryAfter)
}

// PhoneLimits are the phone verification settings (SPEC §2, §4).
type PhoneLimits struct {
	CodeTTL        time.Duration
	ResendCooldown time.Duration
	MaxAttempts    int
	SendsPerNumber int // per hour, 0 = no cap
	SendsPerIP     int // per hour, 0 = no cap
	Lockout        config.Lockout
	Key            []byte // HMAC key for codes
	IPKey          string // what the per-IP cap counts: the address, or its /64 for IPv6
}

func (l PhoneLimits) ipKey(clientIP string) string {
	if l.IPKey != "" {
		return l.IPKey
	}
	return clientIP
}

// PendingCode is the latest code of a user, as the phone page shows it.
type PendingCode struct {
	PhoneNumber string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Attempts    int
	Consumed    bool
}

// lockKeys serialises, on PostgreSQL, every transaction touching the same
// user, number or client IP, so counts and single-use checks hold across
// instances. SQLite transactions are IMMEDIATE and already serial.
func (s *Store) lockKeys(ctx context.Context, tx *sql.Tx, keys ...string) error {
	if s.DB.Dialect != database.Postgres {
		return nil
	}
	ids := make([]int64, 0, len(keys))
	for _, k := range keys {
		h := fnv.New64a()
		h.Write([]byte("phone:" + k))
		ids = append(ids, int64(h.Sum64()))
	}
	slices.Sort(ids) // one order everywhere: no deadlocks
	for _, id := range slices.Compact(ids) {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, id); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	return nil
}

func (s *Store) phoneLockedFor(ctx context.Context, tx *sql.Tx, userID string, now time.Time) (time.Duration, error) {
	var until sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT phone_locked_until FROM users WHERE id = $1`, userID).Scan(&until); err != nil {
		return 0, fmt.Errorf("read phone lock: %w", err)
	}
	if until.Valid && until.Int64 > ms(now) {
		return time.UnixMilli(until.Int64).Sub(now), nil
	}
	return 0, nil
}

// hourlyCap returns how long until one more send fits under limit in the
// last hour for rows matching column = value, or 0 when it fits now.
func hourlyCap(ctx context.Context, tx *sql.Tx, column, value string, limit int, now time.Time) (time.Duration, error) {
	if limit <= 0 {
		return 0, nil
	}
	since := ms(now.Add(-time.Hour))
	var n int
	var oldest sql.NullInt64
	// column is one of two constants chosen by the caller, never user input.
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM phone_sends WHERE `+column+` = $1 AND at > $2`, value, since).Scan(&n, &oldest)
	if err != nil {
		return 0, fmt.Errorf("count sends: %w", err)
	}
	if n < limit {
		return 0, nil
	}
	return time.UnixMilli(oldest.Int64).Add(time.Hour).Sub(now), nil
}

// IssuePhoneCode checks every throttle and, when all pass, stores a new code
// for (user, number), replacing any earlier one, records the send, and calls
// deliver with the plain code inside the same transaction (to queue the SMS
// in the outbox). Only the code's HMAC is stored.
func (s *Store) IssuePhoneCode(ctx context.Context, userID, number, clientIP string, lim PhoneLimits, deliver func(tx *sql.Tx, code string, expires time.Time) error) error {
	now := s.Clock.Now()
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockKeys(ctx, tx, "user:"+userID, "number:"+number, "ip:"+lim.ipKey(clientIP)); err != nil {
			return err
		}
		if wait, err := s.phoneLockedFor(ctx, tx, userID, now); err != nil || wait > 0 {
			if err != nil {
				return err
			}
			return &ThrottledError{Reason: "locked", RetryAfter: wait}
		}
		var created sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT created_at FROM phone_codes WHERE user_id = $1 AND purpose = $2`, userID, PurposePhoneVerification).Scan(&created)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read code: %w", err)
		}
		if created.Valid {
			if next := time.UnixMilli(created.Int64).Add(lim.ResendCooldown); next.After(now) {
				return &ThrottledError{Reason: "cooldown", RetryAfter: next.Sub(now)}
			}
		}
		for _, c := range []struct {
			column, value string
			limit         int
		}{{"phone_number", number, lim.SendsPerNumber}, {"client_ip", lim.ipKey(clientIP), lim.SendsPerIP}} {
			wait, err := hourlyCap(ctx, tx, c.column, c.value, c.limit, now)
			if err != nil {
				return err
			}
			if wait > 0 {
				return &ThrottledError{Reason: c.column + " cap", RetryAfter: wait}
			}
		}
		code, err := otp.Generate()
		if err != nil {
			return err
		}
		hash := hex.EncodeToString(otp.Hash(lim.Key, PurposePhoneVerification, userID, number, code))
		if _, err := tx.ExecContext(ctx, `DELETE FROM phone_codes WHERE user_id = $1 AND purpose = $2`, userID, PurposePhoneVerification); err != nil {
			return fmt.Errorf("replace code: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO phone_codes (user_id, purpose, phone_number, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			userID, PurposePhoneVerification, number, hash, ms(now), ms(now.Add(lim.CodeTTL))); err != nil {
			return fmt.Errorf("store code: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO phone_sends (id, user_id, phone_number, client_ip, at) VALUES ($1, $2, $3, $4, $5)`,
			secrets.ID(), userID, number, lim.ipKey(clientIP), ms(now)); err != nil {
			return fmt.Errorf("record send: %w", err)
		}
		// Old rows only matter for an hour; trimming here keeps the table small.
		if _, err := tx.ExecContext(ctx, `DELETE FROM phone_sends WHERE at < $1`, ms(now.Add(-2*time.Hour))); err != nil {
			return fmt.Errorf("trim sends: %w", err)
		}
		if err := s.WriteAudit(ctx, tx, Audit{ActorID: userID, SubjectID: userID, Action: "phone.code_sent", Detail: number, ClientIP: clientIP}); err != nil {
			return err
		}
		return deliver(tx, code, now.Add(lim.CodeTTL))
	})
}

// PendingPhoneCode returns the user's latest code, if any.
func (s *Store) PendingPhoneCode(ctx context.Context, userID string) (PendingCode, bool, error) {
	var p PendingCode
	var created, expires int64
	var consumed sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `SELECT phone_number, created_at, expires_at, attempts, consumed_at FROM phone_codes WHERE user_id = $1 AND purpose = $2`,
		userID, PurposePhoneVerification).Scan(&p.PhoneNumber, &created, &expires, &p.Attempts, &consumed)
	if errors.Is(err, sql.ErrNoRows) {
		return PendingCode{}, false, nil
	}
	if err != nil {
		return PendingCode{}, false, fmt.Errorf("read pending code: %w", err)
	}
	p.CreatedAt, p.ExpiresAt, p.Consumed = time.UnixMilli(created), time.UnixMilli(expires), consumed.Valid
	return p, true, nil
}

// ConfirmPhoneCode checks code for (user, number). On success it consumes
// the code and, in the same transaction, stores the number as confirmed,
// rotates the security stamp and ends the user's other sessions. On failure
// it counts the attempt (burning the code at MaxAttempts, locking the user
// per Lockout) and leaves the stored number untouched.
func (s *Store) ConfirmPhoneCode(ctx context.Context, userID, number, code, clientIP string, lim PhoneLimits, endOthers func(tx *sql.Tx, stamp string) error) error {
	now := s.Clock.Now()
	var outcome error // a refusal that must still commit its counters
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.lockKeys(ctx, tx, "user:"+userID); err != nil {
			return err
		}
		if wait, err := s.phoneLockedFor(ctx, tx, userID, now); err != nil || wait > 0 {
			if err != nil {
				return err
			}
			outcome = &ThrottledError{Reason: "locked", RetryAfter: wait}
			return nil
		}
		var stored, hash string
		var expires int64
		var attempts int
		var consumed sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT phone_number, code_hash, expires_at, attempts, consumed_at FROM phone_codes WHERE user_id = $1 AND purpose = $2`,
			userID, PurposePhoneVerification).Scan(&stored, &hash, &expires, &attempts, &consumed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			outcome = ErrNoPendingCode
			return nil
		case err != nil:
			return fmt.Errorf("read code: %w", err)
		case consumed.Valid:
			outcome = ErrCodeUsed
			return nil
		case attempts >= lim.MaxAttempts:
			outcome = ErrCodeBurned
			return nil
		case ms(now) >= expires:
			outcome = ErrCodeExpired
			return nil
		}
		want, _ := hex.DecodeString(hash)
		if !otp.Verify(lim.Key, PurposePhoneVerification, userID, number, otp.Normalize(code), want) {
			outcome = ErrWrongCode
			if stored != number {
				outcome = ErrWrongNumber
			}
			return s.recordPhoneFailure(ctx, tx, userID, clientIP, attempts+1, lim, now, &outcome)
		}
		r, err := tx.ExecContext(ctx, `UPDATE phone_codes SET consumed_at = $3 WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL`,
			userID, PurposePhoneVerification, ms(now))
		if err != nil {
			return fmt.Errorf("consume code: %w", err)
		}
		if n, _ := r.RowsAffected(); n != 1 {
			outcome = ErrCodeUsed
			return nil
		}
		var old sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT phone_number FROM users WHERE id = $1`, userID).Scan(&old); err != nil {
			return fmt.Errorf("read number: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET phone_number = $2, phone_number_confirmed = TRUE WHERE id = $1`, userID, number); err != nil {
			return fmt.Errorf("store confirmed number: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM phone_failures WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("clear failures: %w", err)
		}
		stamp, err := s.RotateStamp(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := endOthers(tx, stamp); err != nil {
			return err
		}
		if err := s.WriteAudit(ctx, tx, Audit{ActorID: userID, SubjectID: userID, Action: "phone.confirmed", Detail: describeChange(old.String, number), ClientIP: clientIP}); err != nil {
			return err
		}
		if err := emit(contracts.PhoneNumberConfirmed{UserID: userID, PhoneNumber: number}); err != nil {
			return err
		}
		if old.String == number {
			return nil
		}
		return emit(contracts.PhoneNumberChanged{UserID: userID, OldNumber: old.String, NewNumber: number, Verified: true})
	})
	if err != nil {
		return err
	}
	return outcome
}

func (s *Store) recordPhoneFailure(ctx context.Context, tx *sql.Tx, userID, clientIP string, attempts int, lim PhoneLimits, now time.Time, outcome *error) error {
	if _, err := tx.ExecContext(ctx, `UPDATE phone_codes SET attempts = $3 WHERE user_id = $1 AND purpose = $2`, userID, PurposePhoneVerification, attempts); err != nil {
		return fmt.Errorf("count attempt: %w", err)
	}
	if attempts >= lim.MaxAttempts {
		*outcome = ErrCodeBurned
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO phone_failures (id, user_id, at) VALUES ($1, $2, $3)`, secrets.ID(), userID, ms(now)); err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	// Failures older than the window no longer count; drop them.
	if _, err := tx.ExecContext(ctx, `DELETE FROM phone_failures WHERE user_id = $1 AND at <= $2`, userID, ms(now.Add(-lim.Lockout.Window))); err != nil {
		return fmt.Errorf("trim failures: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM phone_failures WHERE user_id = $1 AND at > $2`, userID, ms(now.Add(-lim.Lockout.Window))).Scan(&n); err != nil {
		return fmt.Errorf("count failures: %w", err)
	}
	detail := fmt.Sprintf("attempt %d", attempts)
	if n >= lim.Lockout.Failures {
		until := now.Add(lim.Lockout.Duration)
		if _, err := tx.ExecContext(ctx, `UPDATE users SET phone_locked_until = $2 WHERE id = $1`, userID, ms(until)); err != nil {
			return fmt.Errorf("lock phone verification: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM phone_failures WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("clear failures: %w", err)
		}
		*outcome = &ThrottledError{Reason: "locked", RetryAfter: lim.Lockout.Duration}
		detail += fmt.Sprintf("; phone verification locked for %s", lim.Lockout.Duration)
	}
	return s.WriteAudit(ctx, tx, Audit{ActorID: userID, SubjectID: userID, Action: "phone.confirm_failed", Detail: detail, ClientIP: clientIP})
}

// RemovePhoneNumber clears the number and its confirmation, and ends any
// pending code.
func (s *Store) RemovePhoneNumber(ctx context.Context, userID, clientIP string) error {
	now := s.Clock.Now()
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		var old sql.NullString
		// Serialised with ConfirmPhoneCode, so a confirmation in flight
		// cannot store the number after it was removed.
		if err := s.lockKeys(ctx, tx, "user:"+userID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT phone_number FROM users WHERE id = $1`, userID).Scan(&old); err != nil {
			return fmt.Errorf("read number: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET phone_number = NULL, phone_number_confirmed = FALSE WHERE id = $1`, userID); err != nil {
			return fmt.Errorf("remove number: %w", err)
		}
		// Expire rather than delete: the row's created_at carries the resend
		// cooldown, which removing the number must not reset.
		if _, err := tx.ExecContext(ctx, `UPDATE phone_codes SET expires_at = $2 WHERE user_id = $1 AND expires_at > $2`, userID, ms(now)); err != nil {
			return fmt.Errorf("end pending codes: %w", err)
		}
		if !old.Valid {
			return nil
		}
		if err := s.WriteAudit(ctx, tx, Audit{ActorID: userID, SubjectID: userID, Action: "phone.removed", Detail: old.String, ClientIP: clientIP}); err != nil {
			return err
		}
		return emit(contracts.PhoneNumberRemoved{UserID: userID, OldNumber: old.String})
	})
}
