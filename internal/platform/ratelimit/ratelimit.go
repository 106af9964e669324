// Package ratelimit counts events per (bucket, key) in a sliding window kept
// in the database, so limits hold across restarts and across instances.
package ratelimit

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// Limiter counts events in the rate_events table.
type Limiter struct {
	DB    *database.DB
	Clock clock.Clock

	lastTrim atomic.Int64 // Unix ms of the last trim pass
}

// wait returns how long until one more event of (bucket, key) fits under
// limit per window; 0 means now.
func (l *Limiter) wait(ctx context.Context, q database.Queryer, bucket, key string, limit int, window time.Duration, now time.Time) (time.Duration, error) {
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

// keep is how long any event is kept: longer than every window in use.
const keep = 24 * time.Hour

// trimEvery spaces out the passes that drop expired events.
const trimEvery = time.Minute

func record(ctx context.Context, tx *sql.Tx, id, bucket, key string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO rate_events (id, bucket, key, at) VALUES ($1, $2, $3, $4)`, id, bucket, key, now.UnixMilli()); err != nil {
		return fmt.Errorf("rate limit %s: record: %w", bucket, err)
	}
	return nil
}

// trim drops events older than any window: they count for nothing, and
// keys that never come back would otherwise stay forever. It runs at most
// once a minute per process.
func (l *Limiter) trim(ctx context.Context) error {
	now := l.Clock.Now()
	last := l.lastTrim.Load()
	if now.UnixMilli()-last < trimEvery.Milliseconds() || !l.lastTrim.CompareAndSwap(last, now.UnixMilli()) {
		return nil
	}
	if _, err := l.DB.ExecContext(ctx, `DELETE FROM rate_events WHERE at <= $1`, now.Add(-keep).UnixMilli()); err != nil {
		return fmt.Errorf("rate limit: trim: %w", err)
	}
	return nil
}

// Take records one event when it fits and returns 0, or returns how long
// to wait without recording. A limit of 0 means no limit (nothing is
// recorded).
func (l *Limiter) Take(ctx context.Context, bucket, key string, limit int, window time.Duration) (time.Duration, error) {
	_, wait, err := l.Reserve(ctx, bucket, key, limit, window)
	return wait, err
}

// Reserve is Take that also returns the event's id, so the caller can give
// the slot back with Release (e.g. a sign-in whose password was right).
// Concurrent reservations of one (bucket, key) are serialised (an advisory
// lock on PostgreSQL, SQLite's write lock), so the limit is exact even for
// a burst. The id is "" when nothing was recorded.
func (l *Limiter) Reserve(ctx context.Context, bucket, key string, limit int, window time.Duration) (string, time.Duration, error) {
	if limit <= 0 {
		return "", 0, nil
	}
	now := l.Clock.Now()
	id := secrets.ID()
	var wait time.Duration
	err := l.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := l.DB.LockKeys(ctx, tx, "rate:"+bucket+":"+key); err != nil {
			return err
		}
		var err error
		if wait, err = l.wait(ctx, tx, bucket, key, limit, window, now); err != nil || wait > 0 {
			return err
		}
		return record(ctx, tx, id, bucket, key, now)
	})
	if err != nil || wait > 0 {
		return "", wait, err
	}
	// Housekeeping rides on a successful reservation, outside its
	// transaction. The reservation holds either way: a failed trim only
	// leaves expired rows for the next pass, so it does not fail this one.
	_ = l.trim(ctx)
	return id, 0, nil
}

// Release gives back the slot Reserve returned; "" is a no-op.
func (l *Limiter) Release(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	_, err := l.DB.ExecContext(ctx, `DELETE FROM rate_events WHERE id = $1`, id)
	return err
}
