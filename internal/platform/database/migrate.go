package database

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations is one module's ordered set of SQL files. Files are named
// NNN_description.sql; a file named NNN_description.sqlite.sql or
// NNN_description.postgres.sql applies to that dialect only.
type Migrations struct {
	Module string
	FS     fs.FS // files at its root
}

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate applies every pending migration of each set in order, each file in
// its own transaction. On PostgreSQL an advisory lock makes concurrent starts
// of several instances safe; on SQLite the immediate transaction does.
func (db *DB) Migrate(ctx context.Context, sets ...Migrations) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.Dialect == Postgres {
		// Shifted as earlier releases did, so an old and a new instance
		// starting together still wait for each other.
		key := int64(uint64(lockKey("simplemodule migrations")) >> 1)
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		module TEXT NOT NULL,
		version INTEGER NOT NULL,
		name TEXT NOT NULL,
		applied_at BIGINT NOT NULL,
		PRIMARY KEY (module, version))`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	for _, set := range sets {
		list, err := db.load(set)
		if err != nil {
			return err
		}
		for _, m := range list {
			if err := applyOne(ctx, conn, set.Module, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func applyOne(ctx context.Context, conn *sql.Conn, module string, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s %03d: %w", module, m.version, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE module = $1 AND version = $2`, module, m.version).Scan(&n); err != nil {
		return fmt.Errorf("migrate %s %03d: %w", module, m.version, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migrate %s %s: %w", module, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (module, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
		module, m.version, m.name, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("migrate %s %s: record: %w", module, m.name, err)
	}
	return tx.Commit()
}

func (db *DB) load(set Migrations) ([]migration, error) {
	entries, err := fs.ReadDir(set.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations of %s: %w", set.Module, err)
	}
	seen := map[int]string{}
	var list []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		base := strings.TrimSuffix(name, ".sql")
		switch {
		case strings.HasSuffix(base, ".sqlite"):
			if db.Dialect != SQLite {
				continue
			}
		case strings.HasSuffix(base, ".postgres"):
			if db.Dialect != Postgres {
				continue
			}
		}
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migrations of %s: %s must start with a number and _", set.Module, name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations of %s: %s and %s share version %d", set.Module, prev, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(set.FS, name)
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	return list, nil
}
