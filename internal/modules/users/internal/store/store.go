// Package store is the Users module's SQL: small methods that each run a
// statement or two, in the transaction the caller (the account service)
// passes, or on the database for plain reads. Rules, transactions, audit
// and events live in the account package.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/emailaddr"
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

// NormalizeEmail is the form emails are compared in, stored in
// users.normalized_email (whose unique index then holds across look-alike
// spellings) and used by every lookup: emailaddr.Normalize's NFKC,
// case-folded, IDNA form. An address Normalize refuses keeps the old trimmed
// lower-case form: the account pages refuse such an address before it is
// stored, and the old form still finds a row stored before these rules,
// while it can never equal a normalised address (it holds an invisible
// character, mixed scripts or a syntax Normalize does not produce). NUL and
// invalid UTF-8 become U+FFFD there, which PostgreSQL accepts and no
// normalised address contains.
func NormalizeEmail(email string) string {
	if normalized, err := emailaddr.Normalize(email); err == nil {
		return normalized
	}
	legacy := strings.ToLower(strings.TrimSpace(email))
	return strings.ReplaceAll(strings.ToValidUTF8(legacy, "\uFFFD"), "\x00", "\uFFFD")
}

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
// the session was issued under. It runs on every signed-in request, so the
// roles come in the same statement.
func (s *Store) AccountBySession(ctx context.Context, idHash string) (Account, string, error) {
	var sessionStamp string
	var roles sql.NullString
	a, err := scanAccount(s.DB.QueryRowContext(ctx, `SELECT `+accountColumns+`, s.security_stamp, `+s.rolesList()+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.expires_at > $2`, idHash, ms(s.Clock.Now())), &sessionStamp, &roles)
	if err != nil {
		return Account{}, "", err
	}
	if roles.String != "" {
		a.Roles = strings.Split(roles.String, ",")
		slices.Sort(a.Roles)
	}
	return a, sessionStamp, nil
}

// rolesList is a column with u's roles joined by commas (role names hold
// none), in either engine's words.
func (s *Store) rolesList() string {
	if s.DB.Dialect == database.Postgres {
		return `(SELECT string_agg(role, ',') FROM user_roles r WHERE r.user_id = u.id)`
	}
	return `(SELECT group_concat(role, ',') FROM user_roles r WHERE r.user_id = u.id)`
}

// NewAccount returns an account that InsertAccount can store: a fresh id
// and security stamp.
func (s *Store) NewAccount(email, passwordHash string, emailConfirmed bool, roles []string) Account {
	return Account{User: contracts.User{ID: secrets.ID(), Email: strings.TrimSpace(email), EmailConfirmed: emailConfirmed, CreatedAt: s.Clock.Now(), Roles: roles},
		PasswordHash: passwordHash, SecurityStamp: secrets.Token(16)}
}

// InsertAccount stores a new account and its roles inside q; an email
// already taken gives ErrDuplicateEmail.
func (s *Store) InsertAccount(ctx context.Context, q Queryer, a Account) error {
	_, err := q.ExecContext(ctx, `INSERT INTO users (id, email, normalized_email, email_confirmed, password_hash, security_stamp, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, a.Email, NormalizeEmail(a.Email), a.EmailConfirmed, a.PasswordHash, a.SecurityStamp, ms(a.CreatedAt))
	if database.IsUniqueViolation(err) {
		return ErrDuplicateEmail
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	for _, r := range a.Roles {
		if _, err := q.ExecContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES ($1, $2)`, a.ID, r); err != nil {
			return fmt.Errorf("add role %s: %w", r, err)
		}
	}
	return nil
}

// AccountTx loads one account with its roles inside q.
func (s *Store) AccountTx(ctx context.Context, q Queryer, id string) (Account, error) {
	return s.accountWhere(ctx, q, "u.id = $1", id)
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

// CountSignInAttempt counts one sign-in attempt as a failure before the
// password is checked, unless the account is locked out or already has
// maxFailures counted; false means it was not counted.
func (s *Store) CountSignInAttempt(ctx context.Context, userID string, maxFailures int) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `UPDATE users SET failed_sign_ins = failed_sign_ins + 1
		WHERE id = $1 AND (lockout_end IS NULL OR lockout_end <= $2) AND failed_sign_ins < $3 RETURNING failed_sign_ins`,
		userID, ms(s.Clock.Now()), maxFailures).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("count sign-in attempt: %w", err)
	}
	return true, nil
}

// LockoutEnd returns when the user's sign-in lockout ends (zero: none).
func (s *Store) LockoutEnd(ctx context.Context, userID string) (time.Time, error) {
	var end sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, `SELECT lockout_end FROM users WHERE id = $1`, userID).Scan(&end); err != nil {
		return time.Time{}, fmt.Errorf("read lockout: %w", err)
	}
	return fromMS(end), nil
}

// LockOutAfterFailures locks the account until `until` inside q when at
// least maxFailures failures are counted and it is not locked yet; false
// means nothing changed.
func (s *Store) LockOutAfterFailures(ctx context.Context, q Queryer, userID string, maxFailures int, until time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE users SET failed_sign_ins = 0, lockout_end = $2
		WHERE id = $1 AND failed_sign_ins >= $3 AND (lockout_end IS NULL OR lockout_end <= $4)`, userID, ms(until), maxFailures, ms(s.Clock.Now()))
	if err != nil {
		return false, fmt.Errorf("lock out: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ClearSignInFailures forgets counted failures of an account that is not
// locked out.
func (s *Store) ClearSignInFailures(ctx context.Context, userID string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE users SET failed_sign_ins = 0 WHERE id = $1 AND (lockout_end IS NULL OR lockout_end <= $2)`, userID, ms(s.Clock.Now()))
	return err
}

// UncountSignInAttempt takes back one attempt CountSignInAttempt counted
// (a right password whose sign-in goes on to the second step: the count of
// wrong second-step codes must survive it).
func (s *Store) UncountSignInAttempt(ctx context.Context, userID string) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE users SET failed_sign_ins = failed_sign_ins - 1 WHERE id = $1 AND failed_sign_ins > 0
		AND (lockout_end IS NULL OR lockout_end <= $2)`, userID, ms(s.Clock.Now()))
	return err
}

// StampSignIn clears the failure count and records the sign-in time inside
// q; false means the account is locked (by an admin or a lockout).
func (s *Store) StampSignIn(ctx context.Context, q Queryer, userID string) (bool, error) {
	return execOne(ctx, q, "record sign-in", `UPDATE users SET failed_sign_ins = 0, lockout_end = NULL, last_login_at = $2
		WHERE id = $1 AND NOT locked_by_admin AND (lockout_end IS NULL OR lockout_end <= $2)`, userID, ms(s.Clock.Now()))
}

// StampPasskeySignIn records a passkey sign-in time inside q; false means
// an administrator locked the account. The failed-password count and any
// lockout stay as they are: a passkey proves no password, and clearing
// them would hand whoever is guessing the password a fresh set of guesses.
func (s *Store) StampPasskeySignIn(ctx context.Context, q Queryer, userID string) (bool, error) {
	return execOne(ctx, q, "record passkey sign-in", `UPDATE users SET last_login_at = $2 WHERE id = $1 AND NOT locked_by_admin`, userID, ms(s.Clock.Now()))
}

// DeleteExpiredSessions drops sessions past their expiry inside q.
func (s *Store) DeleteExpiredSessions(ctx context.Context, q Queryer) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, ms(s.Clock.Now())); err != nil {
		return fmt.Errorf("drop expired sessions: %w", err)
	}
	return nil
}

// SetEmailConfirmed marks the user's current email confirmed inside q.
func (s *Store) SetEmailConfirmed(ctx context.Context, q Queryer, userID string) error {
	if _, err := q.ExecContext(ctx, `UPDATE users SET email_confirmed = TRUE WHERE id = $1`, userID); err != nil {
		return fmt.Errorf("confirm email: %w", err)
	}
	return nil
}

// SetEmail stores a new, confirmed email inside q; an address taken by
// another account gives ErrDuplicateEmail.
func (s *Store) SetEmail(ctx context.Context, q Queryer, userID, email string) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET email = $2, normalized_email = $3, email_confirmed = TRUE WHERE id = $1`, userID, email, NormalizeEmail(email))
	if database.IsUniqueViolation(err) {
		return ErrDuplicateEmail
	}
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	return nil
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
	// (Nor an invitation: once a password is set, the link that sets the
	// first one must not set another.)
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_tokens WHERE user_id = $1 AND purpose IN ('reset-password', 'invitation') AND used_at IS NULL`, userID); err != nil {
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
	if err := s.CheckToken(ctx, tx, userID, purpose, target, raw); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE user_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`, secrets.Hash(raw), ms(s.Clock.Now()))
	if err != nil {
		return fmt.Errorf("consume token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrTokenUsed
	}
	return nil
}
