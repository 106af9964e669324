// Package ratelimit counts events per (bucket, key) in a sliding window kept
// in the database, so limits hold across restarts and across instances.
package ratelimit

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// Limiter counts events in the rate_events table.
type Limiter struct {
	DB    *database.DB
	Clock clock.Clock
}

// Wait returns how long until one more event of (bucket, key) fits under
// limit per window; 0 means now. A limit of 0 means no limit.
func (l *Limiter) Wait(ctx context.Context, bucket, key string, limit int, window time.Duration) (time.Duration, error) {
	if limit <= 0 {
		return 0, nil
	}
	return l.wait(ctx, l.DB, bucket, key, limit, window, l.Clock.Now())
}

func (l *Limiter) wait(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, bucket, key string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
	var n int
	var oldest sql.NullInt64
	// The limit-th newest event decides when the window has room again.
	err := q.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM (SELECT at FROM rate_events WHERE bucket = $1 AND key = $2 AND at > $3 ORDER BY at DESC LIMIT $4) recent`,
		bucket, key, now.Add(-window).UnixMilli(), limit).Scan(&n, &oldest)
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", bucket, err)
	}
	if n < limit {
		return 0, nil
	}
	return time.UnixMilli(oldest.Int64).Add(window).Sub(now), nil
}

// Record counts one event of (bucket, key) and drops events older than
// window for it.
func (l *Limiter) Record(ctx context.Context, bucket, key string, window time.Duration) error {
	now := l.Clock.Now()
	return l.DB.InTx(ctx, func(tx *sql.Tx) error { return record(ctx, tx, bucket, key, window, now) })
}

func record(ctx context.Context, tx *sql.Tx, bucket, key string, window time.Duration, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_events (bucket, key, at) VALUES ($1, $2, $3)`, bucket, key, now.UnixMilli()); err != nil {
		return fmt.Errorf("rate limit %s: record: %w", bucket, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM rate_events WHERE bucket = $1 AND key = $2 AND at <= $3`, bucket, key, now.Add(-window).UnixMilli()); err != nil {
		return fmt.Errorf("rate limit %s: trim: %w", bucket, err)
	}
	return nil
}

// Take records one event when it fits and returns 0, or returns how long
// to wait without recording. Concurrent takers of one (bucket, key) are
// serialised (an advisory lock on PostgreSQL, SQLite's write lock), so the
// limit is exact.
func (l *Limiter) Take(ctx context.Context, bucket, key string, limit int, window time.Duration) (time.Duration, error) {
	if limit <= 0 {
		return 0, nil
	}
	now := l.Clock.Now()
	var wait time.Duration
	err := l.DB.InTx(ctx, func(tx *sql.Tx) error {
		if l.DB.Dialect == database.Postgres {
			h := fnv.New64a()
			h.Write([]byte("rate:" + bucket + ":" + key))
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
				return err
			}
		}
		var err error
		if wait, err = l.wait(ctx, tx, bucket, key, limit, window, now); err != nil || wait > 0 {
			return err
		}
		return record(ctx, tx, bucket, key, window, now)
	})
	return wait, err
}
