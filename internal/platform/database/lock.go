package database

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
)

// lockKey maps a name ("phone:user:…", "rate:register:…") to the 64-bit key
// of a PostgreSQL advisory lock.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// LockKeys takes transaction-scoped advisory locks on names inside tx, so
// every transaction touching one of them, on any instance, waits for the
// others. On SQLite it does nothing: its transactions are IMMEDIATE and
// already serial. Locks are taken in one order everywhere, so two
// transactions locking the same names cannot deadlock.
func (db *DB) LockKeys(ctx context.Context, tx Queryer, names ...string) error {
	if db.Dialect != Postgres || len(names) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(names))
	for _, n := range names {
		keys = append(keys, lockKey(n))
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, k); err != nil {
			return fmt.Errorf("advisory lock: %w", err)
		}
	}
	return nil
}
