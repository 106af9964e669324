package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// CheckToken reports, without consuming it, whether raw is a live token of
// (user, purpose, target): nil, or ErrTokenInvalid, ErrTokenUsed or
// ErrTokenExpired as ConsumeToken would say. It lets a use case refuse a
// bogus link before doing expensive work; ConsumeToken, inside the change's
// transaction, still decides who gets to use it.
func (s *Store) CheckToken(ctx context.Context, q Queryer, userID, purpose, target, raw string) error {
	var expires int64
	var used sql.NullInt64
	var storedTarget string
	err := q.QueryRowContext(ctx, `SELECT expires_at, used_at, target FROM user_tokens WHERE token_hash = $1 AND user_id = $2 AND purpose = $3`,
		secrets.Hash(raw), userID, purpose).Scan(&expires, &used, &storedTarget)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && storedTarget != target):
		return ErrTokenInvalid
	case err != nil:
		return fmt.Errorf("read token: %w", err)
	case used.Valid:
		return ErrTokenUsed
	case ms(s.Clock.Now()) >= expires:
		return ErrTokenExpired
	}
	return nil
}
