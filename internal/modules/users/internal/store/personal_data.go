package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SessionRecord is one stored session as its owner may see it: no token
// hash, no security stamp.
type SessionRecord struct {
	Persistent bool
	UserAgent  string
	ClientIP   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// TokenRecord is one emailed link as its owner may see it: no token hash.
type TokenRecord struct {
	Purpose   string
	Target    string // the address the link was sent for
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// PhoneCodeRecord is one phone code as its owner may see it: no code hash.
type PhoneCodeRecord struct {
	Purpose     string
	PhoneNumber string
	Attempts    int
	CreatedAt   time.Time
	ExpiresAt   time.Time
	ConsumedAt  time.Time
}

// OwnAuditEntry is one audit row about a user, with who acted reduced to
// whether it was the user themselves (another person's id is theirs, not
// the user's).
type OwnAuditEntry struct {
	At       time.Time
	BySelf   bool
	BySystem bool
	Action   string
	Detail   string
	ClientIP string
}

// PersonalRecords is every row keyed by one user that the personal data
// download shows, besides the account itself.
type PersonalRecords struct {
	PhoneLockedUntil time.Time
	Sessions         []SessionRecord
	Tokens           []TokenRecord
	PhoneCodes       []PhoneCodeRecord
	PhoneFailures    []time.Time
	Audit            []OwnAuditEntry
}

// PersonalRecords reads the rows of userID in every table of the module
// and the sessions table, selecting no secret column.
func (s *Store) PersonalRecords(ctx context.Context, userID string) (PersonalRecords, error) {
	var p PersonalRecords
	var locked sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, `SELECT phone_locked_until FROM users WHERE id = $1`, userID).Scan(&locked); err != nil {
		return p, fmt.Errorf("personal data: phone lock: %w", err)
	}
	p.PhoneLockedUntil = fromMS(locked)
	err := s.each(ctx, `SELECT persistent, user_agent, client_ip, created_at, last_seen_at, expires_at FROM sessions WHERE user_id = $1 ORDER BY created_at`, userID, func(rows *sql.Rows) error {
		var r SessionRecord
		var created, seen, expires sql.NullInt64
		if err := rows.Scan(&r.Persistent, &r.UserAgent, &r.ClientIP, &created, &seen, &expires); err != nil {
			return err
		}
		r.CreatedAt, r.LastSeenAt, r.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
		p.Sessions = append(p.Sessions, r)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("personal data: sessions: %w", err)
	}
	err = s.each(ctx, `SELECT purpose, target, created_at, expires_at, used_at FROM user_tokens WHERE user_id = $1 ORDER BY created_at`, userID, func(rows *sql.Rows) error {
		var r TokenRecord
		var created, expires, used sql.NullInt64
		if err := rows.Scan(&r.Purpose, &r.Target, &created, &expires, &used); err != nil {
			return err
		}
		r.CreatedAt, r.ExpiresAt, r.UsedAt = fromMS(created), fromMS(expires), fromMS(used)
		p.Tokens = append(p.Tokens, r)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("personal data: links: %w", err)
	}
	err = s.each(ctx, `SELECT purpose, phone_number, attempts, created_at, expires_at, consumed_at FROM phone_codes WHERE user_id = $1 ORDER BY created_at`, userID, func(rows *sql.Rows) error {
		var r PhoneCodeRecord
		var created, expires, consumed sql.NullInt64
		if err := rows.Scan(&r.Purpose, &r.PhoneNumber, &r.Attempts, &created, &expires, &consumed); err != nil {
			return err
		}
		r.CreatedAt, r.ExpiresAt, r.ConsumedAt = fromMS(created), fromMS(expires), fromMS(consumed)
		p.PhoneCodes = append(p.PhoneCodes, r)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("personal data: phone codes: %w", err)
	}
	err = s.each(ctx, `SELECT at FROM phone_failures WHERE user_id = $1 ORDER BY at`, userID, func(rows *sql.Rows) error {
		var at sql.NullInt64
		if err := rows.Scan(&at); err != nil {
			return err
		}
		p.PhoneFailures = append(p.PhoneFailures, fromMS(at))
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("personal data: phone failures: %w", err)
	}
	err = s.each(ctx, `SELECT at, COALESCE(actor_id, ''), action, detail, client_ip FROM audit_log WHERE subject_id = $1 ORDER BY at, id`, userID, func(rows *sql.Rows) error {
		var r OwnAuditEntry
		var at sql.NullInt64
		var actor string
		if err := rows.Scan(&at, &actor, &r.Action, &r.Detail, &r.ClientIP); err != nil {
			return err
		}
		r.At, r.BySelf, r.BySystem = fromMS(at), actor == userID, actor == ""
		p.Audit = append(p.Audit, r)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("personal data: audit trail: %w", err)
	}
	return p, nil
}

// each runs query with one argument and calls scan for every row.
func (s *Store) each(ctx context.Context, query string, arg any, scan func(*sql.Rows) error) error {
	rows, err := s.DB.QueryContext(ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
