package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// ErrDuplicatePasskey: the credential is registered already (to anyone).
var ErrDuplicatePasskey = errors.New("passkey already registered")

// b64 is how binary WebAuthn values are kept in text columns.
var b64 = base64.RawURLEncoding

// Passkey is one stored WebAuthn credential.
type Passkey struct {
	ID             string // our own id, for URLs
	UserID         string
	Name           string
	CredentialID   []byte
	PublicKey      []byte // COSE key
	SignCount      uint32
	UserVerified   bool
	BackupEligible bool // BE: the credential may be synced to other devices
	BackupState    bool // BS: it is synced now
	AAGUID         []byte
	AttType        string
	AttFormat      string
	Transports     []string
	CreatedAt      time.Time
	LastUsedAt     time.Time
}

const passkeyColumns = `id, user_id, name, credential_id, public_key, sign_count, user_verified, backup_eligible, backup_state,
	aaguid, attestation_type, attestation_format, transports, created_at, last_used_at`

func scanPasskey(s scanner) (Passkey, error) {
	var p Passkey
	var credID, key, aaguid, transports string
	var count int64
	var created, used sql.NullInt64
	err := s.Scan(&p.ID, &p.UserID, &p.Name, &credID, &key, &count, &p.UserVerified, &p.BackupEligible, &p.BackupState,
		&aaguid, &p.AttType, &p.AttFormat, &transports, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return Passkey{}, ErrNotFound
	}
	if err != nil {
		return Passkey{}, err
	}
	if p.CredentialID, err = b64.DecodeString(credID); err != nil {
		return Passkey{}, fmt.Errorf("passkey %s: credential id: %w", p.ID, err)
	}
	if p.PublicKey, err = b64.DecodeString(key); err != nil {
		return Passkey{}, fmt.Errorf("passkey %s: public key: %w", p.ID, err)
	}
	if p.AAGUID, err = b64.DecodeString(aaguid); err != nil {
		return Passkey{}, fmt.Errorf("passkey %s: aaguid: %w", p.ID, err)
	}
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.SignCount = uint32(count)
	p.CreatedAt, p.LastUsedAt = fromMS(created), fromMS(used)
	return p, nil
}

// PasskeyHandle returns, inside q, the user's WebAuthn user handle, or
// ErrNotFound when they never registered a passkey.
func (s *Store) PasskeyHandle(ctx context.Context, q Queryer, userID string) ([]byte, error) {
	var h string
	err := q.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE user_id = $1`, userID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("passkey handle: %w", err)
	}
	return b64.DecodeString(h)
}

// EnsurePasskeyHandle stores handle as the user's unless they have one
// already, and returns the one that holds.
func (s *Store) EnsurePasskeyHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO passkey_users (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
		userID, b64.EncodeToString(handle)); err != nil {
		return nil, fmt.Errorf("store passkey handle: %w", err)
	}
	return s.PasskeyHandle(ctx, s.DB, userID)
}

// Passkeys lists, inside q, the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, q Queryer, userID string) ([]Passkey, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByCredentialID returns the passkey with that credential id.
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error) {
	return scanPasskey(s.DB.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, b64.EncodeToString(credentialID)))
}

// InsertPasskey stores p inside q; ErrDuplicatePasskey when its
// credential id is taken.
func (s *Store) InsertPasskey(ctx context.Context, q Queryer, p Passkey) error {
	_, err := q.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL)`,
		p.ID, p.UserID, p.Name, b64.EncodeToString(p.CredentialID), b64.EncodeToString(p.PublicKey), int64(p.SignCount),
		p.UserVerified, p.BackupEligible, p.BackupState, b64.EncodeToString(p.AAGUID), p.AttType, p.AttFormat,
		strings.Join(p.Transports, ","), ms(p.CreatedAt))
	if database.IsUniqueViolation(err) {
		return ErrDuplicatePasskey
	}
	if err != nil {
		return fmt.Errorf("insert passkey: %w", err)
	}
	return nil
}

// RecordPasskeyUse stores a sign-in's signature counter, flags and time
// inside q, only while the counter moves forward (or the authenticator
// keeps none: 0, as synced passkeys do), so two sign-ins presenting the same
// counter — a cloned authenticator — cannot both pass. false: the passkey
// is gone, or its counter did not move forward.
func (s *Store) RecordPasskeyUse(ctx context.Context, q Queryer, p Passkey) (bool, error) {
	return execOne(ctx, q, "record passkey use", `UPDATE passkeys SET sign_count = $2, user_verified = $3, backup_state = $4, last_used_at = $5
		WHERE id = $1 AND (sign_count < $2 OR $2 = 0)`,
		p.ID, int64(p.SignCount), p.UserVerified, p.BackupState, ms(s.Clock.Now()))
}

// RenamePasskey renames the user's passkey id inside q; ErrNotFound when
// the user has no such passkey.
func (s *Store) RenamePasskey(ctx context.Context, q Queryer, userID, id, name string) error {
	res, err := q.ExecContext(ctx, `UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2`, id, userID, name)
	if err != nil {
		return fmt.Errorf("rename passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// DeletePasskey deletes the user's passkey id inside q; ErrNotFound when
// the user has no such passkey.
func (s *Store) DeletePasskey(ctx context.Context, q Queryer, userID, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("delete passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// SavePasskeyChallenge stores a ceremony begun, keyed by the hash of the
// browser's token; userID is empty for a sign-in. Expired ceremonies are
// dropped on the way.
func (s *Store) SavePasskeyChallenge(ctx context.Context, tokenHash, userID, purpose string, sessionData []byte, expires time.Time) error {
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_challenges WHERE expires_at <= $1`, ms(s.Clock.Now())); err != nil {
			return fmt.Errorf("drop expired passkey challenges: %w", err)
		}
		var user sql.NullString
		if userID != "" {
			user = sql.NullString{String: userID, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO passkey_challenges (token_hash, user_id, purpose, session_data, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			tokenHash, user, purpose, string(sessionData), ms(expires)); err != nil {
			return fmt.Errorf("store passkey challenge: %w", err)
		}
		return nil
	})
}

// PasskeyChallenge is a ceremony taken back from the store.
type PasskeyChallenge struct {
	UserID      string
	SessionData []byte
	ExpiresAt   time.Time
}

// TakePasskeyChallenge deletes and returns the ceremony of tokenHash and
// purpose in one statement, so two requests can never both use it;
// ErrNotFound when there is none (never begun, or used already). Expiry is
// the caller's to check.
func (s *Store) TakePasskeyChallenge(ctx context.Context, tokenHash, purpose string) (PasskeyChallenge, error) {
	var c PasskeyChallenge
	var user sql.NullString
	var data string
	var expires sql.NullInt64
	err := s.DB.QueryRowContext(ctx, `DELETE FROM passkey_challenges WHERE token_hash = $1 AND purpose = $2
		RETURNING user_id, session_data, expires_at`, tokenHash, purpose).Scan(&user, &data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("take passkey challenge: %w", err)
	}
	c.UserID, c.SessionData, c.ExpiresAt = user.String, []byte(data), fromMS(expires)
	return c, nil
}
