// Package store is the Users module's data access: one method per use case,
// each in its own transaction when it writes more than one row.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/events"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// Errors the store returns for expected conditions.
var (
	ErrNotFound       = errors.New("not found")
	ErrDuplicateEmail = errors.New("an account with that email already exists")
	ErrTokenInvalid   = errors.New("token invalid")
	ErrTokenExpired   = errors.New("token expired")
	ErrTokenUsed      = errors.New("token already used")
)

// Store wraps the database for the Users module.
type Store struct {
	DB    *database.DB
	Clock clock.Clock
	Bus   *events.Bus // events emitted by changes; nil in tools that need none

	auditSeq atomic.Uint64 // orders audit rows written in the same millisecond
}

// Account is a user row with the fields only the module itself may see.
type Account struct {
	contracts.User
	PasswordHash  string
	SecurityStamp string
}

// Audit is one audit log entry to write.
type Audit struct {
	ActorID   string // empty for the system
	SubjectID string
	Action    string
	Detail    string
	ClientIP  string
}

// Queryer runs statements in or out of a transaction.
type Queryer = database.Queryer

// NormalizeEmail is the form emails are compared in.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

const accountColumns = `u.id, u.email, u.email_confirmed, u.display_name, u.phone_number, u.phone_number_confirmed,
	u.two_factor_enabled, u.locked_by_admin, u.lockout_end, u.failed_sign_ins, u.created_at, u.last_login_at,
	u.password_hash, u.security_stamp`

type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner, extra ...any) (Account, error) {
	var a Account
	var phone sql.NullString
	var lockoutEnd, created, lastLogin sql.NullInt64
	dest := []any{&a.ID, &a.Email, &a.EmailConfirmed, &a.DisplayName, &phone, &a.PhoneNumberConfirmed,
		&a.TwoFactorEnabled, &a.LockedByAdmin, &lockoutEnd, &a.FailedSignIns, &created, &lastLogin,
		&a.PasswordHash, &a.SecurityStamp}
	if err := s.Scan(append(dest, extra...)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Account{}, ErrNotFound
		}
		return Account{}, err
	}
	a.PhoneNumber = phone.String
	a.LockoutEnd = fromMS(lockoutEnd)
	a.CreatedAt = fromMS(created)
	a.LastLoginAt = fromMS(lastLogin)
	return a, nil
}

func (s *Store) loadRoles(ctx context.Context, q Queryer, a *Account) error {
	rows, err := q.QueryContext(ctx, `SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role`, a.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	a.Roles = nil
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return err
		}
		a.Roles = append(a.Roles, r)
	}
	return rows.Err()
}

func (s *Store) accountWhere(ctx context.Context, q Queryer, where string, arg any) (Account, error) {
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM users u WHERE `+where, arg))
	if err != nil {
		return Account{}, err
	}
	if err := s.loadRoles(ctx, q, &a); err != nil {
		return Account{}, err
	}
	return a, nil
}

// AccountByID loads one account with its roles.
func (s *Store) AccountByID(ctx context.Context, id string) (Account, error) {
	return s.accountWhere(ctx, s.DB, "u.id = $1", id)
}

// AccountByEmail loads one account by email, case-insensitively.
func (s *Store) AccountByEmail(ctx context.Context, email string) (Account, error) {
	return s.accountWhere(ctx, s.DB, "u.normalized_email = $1", NormalizeEmail(email))
}

// AccountBySession loads the account behind a live session, with the stamp
// the session was issued under.
func (s *Store) AccountBySession(ctx context.Context, idHash string) (Account, string, error) {
	var sessionStamp string
	a, err := scanAccount(s.DB.QueryRowContext(ctx, `SELECT `+accountColumns+`, s.security_stamp
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.expires_at > $2`, idHash, ms(s.Clock.Now())), &sessionStamp)
	if err != nil {
		return Account{}, "", err
	}
	if err := s.loadRoles(ctx, s.DB, &a); err != nil {
		return Account{}, "", err
	}
	return a, sessionStamp, nil
}

// CreateAccount inserts a user with the given roles; also, when set, runs
// inside the same transaction (to queue the confirmation email with it).
func (s *Store) CreateAccount(ctx context.Context, email, passwordHash string, emailConfirmed bool, roles []string, audit Audit, also func(tx *sql.Tx, a Account) error) (Account, error) {
	now := s.Clock.Now()
	a := Account{User: contracts.User{ID: secrets.ID(), Email: strings.TrimSpace(email), EmailConfirmed: emailConfirmed, CreatedAt: now, Roles: roles},
		PasswordHash: passwordHash, SecurityStamp: secrets.Token(16)}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, normalized_email, email_confirmed, password_hash, security_stamp, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, a.Email, NormalizeEmail(email), emailConfirmed, passwordHash, a.SecurityStamp, ms(now))
		if database.IsUniqueViolation(err) {
			return ErrDuplicateEmail
		}
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		for _, r := range roles {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES ($1, $2)`, a.ID, r); err != nil {
				return fmt.Errorf("add role %s: %w", r, err)
			}
		}
		audit.SubjectID = a.ID
		if err := s.WriteAudit(ctx, tx, audit); err != nil {
			return err
		}
		if also != nil {
			return also(tx, a)
		}
		return nil
	})
	return a, err
}

// change runs fn in one transaction. Events fn emits reach transactional
// subscribers inside it (so, e.g., a notification commits with the change)
// and every other subscriber after the commit.
func (s *Store) change(ctx context.Context, fn func(tx *sql.Tx, emit func(event any) error) error) error {
	var emitted []any
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		emitted = emitted[:0]
		return fn(tx, func(event any) error {
			emitted = append(emitted, event)
			if s.Bus == nil {
				return nil
			}
			return s.Bus.PublishTx(ctx, tx, event)
		})
	})
	if err != nil || s.Bus == nil {
		return err
	}
	for _, ev := range emitted {
		s.Bus.Publish(ctx, ev)
	}
	return nil
}

// Contact returns, inside q, the user's email and whether it is confirmed.
func (s *Store) Contact(ctx context.Context, q Queryer, userID string) (string, bool, error) {
	var addr string
	var confirmed bool
	err := q.QueryRowContext(ctx, `SELECT email, email_confirmed FROM users WHERE id = $1`, userID).Scan(&addr, &confirmed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, ErrNotFound
	}
	return addr, confirmed, err
}

// WriteAudit records one audit entry inside q (normally the transaction
// that made the change).
func (s *Store) WriteAudit(ctx context.Context, q Queryer, a Audit) error {
	var actor sql.NullString
	if a.ActorID != "" {
		actor = sql.NullString{String: a.ActorID, Valid: true}
	}
	now := ms(s.Clock.Now())
	// The id sorts by time, then by write order within this process, so the
	// trail reads in the order things happened even within one millisecond.
	id := fmt.Sprintf("%012x-%08x-%s", now, s.auditSeq.Add(1), secrets.ID()[:8])
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (id, at, actor_id, subject_id, action, detail, client_ip) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, now, actor, a.SubjectID, a.Action, a.Detail, a.ClientIP)
	if err != nil {
		return fmt.Errorf("write audit %s: %w", a.Action, err)
	}
	return nil
}

// AuditEntry is one stored audit row.
type AuditEntry struct {
	At         time.Time
	ActorID    string
	ActorEmail string
	Action     string
	Detail     string
	ClientIP   string
}

// AuditTrail lists a user's audit entries, newest first.
func (s *Store) AuditTrail(ctx context.Context, subjectID string, limit, offset int) ([]AuditEntry, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT a.at, COALESCE(a.actor_id, ''), COALESCE(u.email, ''), a.action, a.detail, a.client_ip
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
		WHERE a.subject_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2 OFFSET $3`, subjectID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("audit trail: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.ActorID, &e.ActorEmail, &e.Action, &e.Detail, &e.ClientIP); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// ErrLockedOut means the account is locked out (or locked by an admin)
// at the moment of signing in.
var ErrLockedOut = errors.New("account locked out")

// ReserveSignIn counts this attempt as a failure before the password is
// checked, so parallel guesses cannot outrun the lockout: at most
// maxFailures attempts are ever counted or in flight. It returns how long
// to wait when the account is locked out; when maxFailures attempts are
// already counted (in flight, or left by a crash) it locks the account for
// lockFor now. A correct password then clears the count (RecordSignIn or
// ClearSignInFailures).
func (s *Store) ReserveSignIn(ctx context.Context, userID string, maxFailures int, lockFor time.Duration, clientIP string) (time.Duration, error) {
	now := s.Clock.Now()
	var n int
	err := s.DB.QueryRowContext(ctx, `UPDATE users SET failed_sign_ins = failed_sign_ins + 1
		WHERE id = $1 AND (lockout_end IS NULL OR lockout_end <= $2) AND failed_sign_ins < $3 RETURNING failed_sign_ins`,
		userID, ms(now), maxFailures).Scan(&n)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("reserve sign-in: %w", err)
	}
	var end sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, `SELECT lockout_end FROM users WHERE id = $1`, userID).Scan(&end); err != nil {
		return 0, fmt.Errorf("read lockout: %w", err)
	}
	if until := fromMS(end); until.After(now) {
		return until.Sub(now), nil
	}
	// maxFailures attempts are counted but none has locked the account:
	// they are still in flight, or a crash left them. Lock now.
	until, err := s.RecordFailedSignIn(ctx, userID, maxFailures, lockFor, clientIP)
	if err != nil {
		return 0, err
	}
	if until.IsZero() {
		return time.Second, nil // another request locked or cleared it just now
	}
	return until.Sub(now), nil
}

// ClearSignInFailures forgets counted failures after a correct password
// that did not end in a session (unconfirmed email, admin lock), so the
// reservation does not count against the user.
func (s *Store) ClearSignInFailures(ctx context.Context, userID string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE users SET failed_sign_ins = 0 WHERE id = $1 AND (lockout_end IS NULL OR lockout_end <= $2)`, userID, ms(s.Clock.Now()))
	return err
}

// RecordFailedSignIn runs after a reserved attempt turned out wrong: once
// maxFailures are counted it locks the account for lockFor. It returns the
// lockout end (zero when not locked).
func (s *Store) RecordFailedSignIn(ctx context.Context, userID string, maxFailures int, lockFor time.Duration, ip string) (time.Time, error) {
	now := s.Clock.Now()
	lockedUntil := now.Add(lockFor)
	var locked bool
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET failed_sign_ins = 0, lockout_end = $2
			WHERE id = $1 AND failed_sign_ins >= $3 AND (lockout_end IS NULL OR lockout_end <= $4)`, userID, ms(lockedUntil), maxFailures, ms(now))
		if err != nil {
			return fmt.Errorf("lock out: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		locked = true
		return s.WriteAudit(ctx, tx, Audit{SubjectID: userID, Action: "signin.locked_out", Detail: fmt.Sprintf("%d failed sign-ins", maxFailures), ClientIP: ip})
	})
	if err != nil || !locked {
		return time.Time{}, err
	}
	return lockedUntil, nil
}

// RecordSignIn clears the failure count, stamps the last sign-in time and
// starts the new session (via start) in one transaction. It refuses with
// ErrLockedOut when the account became locked meanwhile.
func (s *Store) RecordSignIn(ctx context.Context, userID string, start func(tx *sql.Tx) error) error {
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := ms(s.Clock.Now())
		res, err := tx.ExecContext(ctx, `UPDATE users SET failed_sign_ins = 0, lockout_end = NULL, last_login_at = $2
			WHERE id = $1 AND NOT locked_by_admin AND (lockout_end IS NULL OR lockout_end <= $2)`, userID, now)
		if err != nil {
			return fmt.Errorf("record sign-in: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrLockedOut
		}
		// Expired sessions are dead already; sign-in is a cheap moment to drop them.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now); err != nil {
			return fmt.Errorf("drop expired sessions: %w", err)
		}
		return start(tx)
	})
}

// RotateStamp gives the user a new security stamp inside tx and returns it.
// Sessions issued under the old stamp stop working.
func (s *Store) RotateStamp(ctx context.Context, tx Queryer, userID string) (string, error) {
	stamp := secrets.Token(16)
	if _, err := tx.ExecContext(ctx, `UPDATE users SET security_stamp = $2 WHERE id = $1`, userID, stamp); err != nil {
		return "", fmt.Errorf("rotate security stamp: %w", err)
	}
	// A password-reset link issued before a credential change must not
	// outlive it.
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = 'reset-password' AND used_at IS NULL`, userID); err != nil {
		return "", fmt.Errorf("revoke reset links: %w", err)
	}
	return stamp, nil
}

// SetPasswordHash stores a new password hash inside tx and clears lockout.
func (s *Store) SetPasswordHash(ctx context.Context, tx Queryer, userID, hash string) error {
	_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2, failed_sign_ins = 0, lockout_end = NULL WHERE id = $1`, userID, hash)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// IssueToken creates a single-use token for (user, purpose, target) that
// lives for ttl, replacing any earlier token of that user and purpose.
func (s *Store) IssueToken(ctx context.Context, q Queryer, userID, purpose, target string, ttl time.Duration) (string, error) {
	raw := secrets.Token(32)
	now := s.Clock.Now()
	if _, err := q.ExecContext(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose); err != nil {
		return "", fmt.Errorf("replace token: %w", err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO user_tokens (token_hash, user_id, purpose, target, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		secrets.Hash(raw), userID, purpose, target, ms(now), ms(now.Add(ttl))); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	return raw, nil
}

// LastTokenAt returns when the user's latest token of purpose was issued.
func (s *Store) LastTokenAt(ctx context.Context, userID, purpose string) (time.Time, error) {
	var at sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `SELECT MAX(created_at) FROM user_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose).Scan(&at)
	return fromMS(at), err
}

// ConsumeToken marks the token used inside tx. Only one caller can consume a
// token: the guarded update lets exactly one concurrent request through.
func (s *Store) ConsumeToken(ctx context.Context, tx Queryer, userID, purpose, target, raw string) error {
	var expires int64
	var used sql.NullInt64
	var storedTarget string
	err := tx.QueryRowContext(ctx, `SELECT expires_at, used_at, target FROM user_tokens WHERE token_hash = $1 AND user_id = $2 AND purpose = $3`,
		secrets.Hash(raw), userID, purpose).Scan(&expires, &used, &storedTarget)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && storedTarget != target) {
		return ErrTokenInvalid
	}
	if err != nil {
		return fmt.Errorf("read token: %w", err)
	}
	now := s.Clock.Now()
	if used.Valid {
		return ErrTokenUsed
	}
	if ms(now) >= expires {
		return ErrTokenExpired
	}
	res, err := tx.ExecContext(ctx, `UPDATE user_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`, secrets.Hash(raw), ms(now))
	if err != nil {
		return fmt.Errorf("consume token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrTokenUsed
	}
	return nil
}
