package session

import (
	"context"
	"fmt"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// Info is one live session as the sessions pages list it.
type Info struct {
	PublicID   string
	IDHash     string // to tell the current session; never shown
	UserAgent  string
	ClientIP   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// List returns userID's live sessions, newest first. A session started
// before sessions had public ids gets one here.
func (s *Store) List(ctx context.Context, q database.Queryer, userID string) ([]Info, error) {
	rows, err := q.QueryContext(ctx, `SELECT COALESCE(public_id, ''), id_hash, user_agent, client_ip, created_at, COALESCE(last_seen_at, created_at), expires_at
		FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id_hash`, userID, s.Clock.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Info
	for rows.Next() {
		var in Info
		var created, seen, expires int64
		if err := rows.Scan(&in.PublicID, &in.IDHash, &in.UserAgent, &in.ClientIP, &created, &seen, &expires); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		in.CreatedAt, in.LastSeenAt, in.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(seen).UTC(), time.UnixMilli(expires).UTC()
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	for i := range out {
		if out[i].PublicID != "" {
			continue
		}
		if out[i].PublicID, err = s.assignPublicID(ctx, q, out[i].IDHash); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// assignPublicID gives an older session its public id, or reads the one a
// concurrent listing gave it.
func (s *Store) assignPublicID(ctx context.Context, q database.Queryer, idHash string) (string, error) {
	id := secrets.ID()
	if _, err := q.ExecContext(ctx, `UPDATE sessions SET public_id = $1 WHERE id_hash = $2 AND public_id IS NULL`, id, idHash); err != nil {
		return "", fmt.Errorf("assign session id: %w", err)
	}
	var got string
	err := q.QueryRowContext(ctx, `SELECT COALESCE(public_id, '') FROM sessions WHERE id_hash = $1`, idHash).Scan(&got)
	if err != nil {
		return "", fmt.Errorf("assign session id: %w", err)
	}
	return got, nil
}

// DeleteByPublicID ends userID's session publicID; false when userID has
// no such session (another user's id included).
func (s *Store) DeleteByPublicID(ctx context.Context, q database.Queryer, userID, publicID string) (bool, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND public_id = $2`, userID, publicID)
	if err != nil {
		return false, fmt.Errorf("end session: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteOthers ends every session of userID but keepHash and returns how
// many it ended.
func (s *Store) DeleteOthers(ctx context.Context, q database.Queryer, userID, keepHash string) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2`, userID, keepHash)
	if err != nil {
		return 0, fmt.Errorf("end other sessions: %w", err)
	}
	return res.RowsAffected()
}

// DeleteAll ends every session of userID and returns how many it ended.
func (s *Store) DeleteAll(ctx context.Context, q database.Queryer, userID string) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	return res.RowsAffected()
}
