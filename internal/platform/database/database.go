// Package database opens the one database/sql handle the application uses,
// on embedded SQLite (the default) or PostgreSQL, and applies each module's
// embedded migrations.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the application's database handle. Queries use $1-style
// placeholders, which both engines accept.
type DB struct {
	*sql.DB
	Dialect Dialect
}

// defaultDataDir holds the default database (sqlite:./data/simplemodule.db)
// and is the only directory Open creates, so a first start just works; any
// other missing directory is more likely a typo or an unmounted volume than
// a wish, and creating it would hide the data somewhere unexpected.
const defaultDataDir = "data"

// databaseDir checks that the SQLite file's directory exists, creating only
// the default one.
func databaseDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("invalid setting SIMPLEMODULE_DATABASE_URL: %s is not a directory", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("invalid setting SIMPLEMODULE_DATABASE_URL: %w", err)
	case filepath.Clean(dir) != defaultDataDir:
		return fmt.Errorf("invalid setting SIMPLEMODULE_DATABASE_URL: directory %s does not exist (create it first; only the default ./%s is created)", dir, defaultDataDir)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create database directory: %w", err)
	}
	return nil
}

// Open connects to the database named by url: "sqlite:PATH" (PATH may be
// ":memory:" only for throwaway use) or "postgres://…". For SQLite it
// creates the parent directory, enables WAL, a busy timeout and foreign keys,
// and starts every transaction IMMEDIATE so concurrent writers queue instead
// of failing.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var db *DB
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		sqlDB, err := sql.Open("pgx", rawURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// Requests and the outbox's concurrent deliveries share the pool; with
		// 20 connections, 32 users waited on it (255 → 325–393 phone cycles/s
		// at 40). Two instances stay inside PostgreSQL's default 100.
		sqlDB.SetMaxOpenConns(40)
		sqlDB.SetMaxIdleConns(40)
		db = &DB{DB: sqlDB, Dialect: Postgres}
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(rawURL, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, errors.New("sqlite database url needs a path, e.g. sqlite:./data/simplemodule.db")
		}
		if err := databaseDir(filepath.Dir(path)); err != nil {
			return nil, err
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		sqlDB := sql.OpenDB(&stmtCacheConnector{dsn: "file:" + path + "?" + q.Encode(), drv: &sqlite.Driver{}})
		// One writer at a time is SQLite's rule; a small pool keeps readers
		// concurrent under WAL without piling up busy writers.
		sqlDB.SetMaxOpenConns(4)
		db = &DB{DB: sqlDB, Dialect: SQLite}
	default:
		return nil, fmt.Errorf("SIMPLEMODULE_DATABASE_URL must start with sqlite: or postgres://")
	}
	// Several processes opening one SQLite file at once can meet a lock
	// while WAL mode is switched on; that passes in milliseconds.
	var err error
	for attempt := 1; ; attempt++ {
		err = db.PingContext(ctx)
		if err == nil || db.Dialect != SQLite || attempt == 20 || !isBusy(err) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 25 * time.Millisecond):
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", db.Dialect, err)
	}
	return db, nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation,
// in either engine's words.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked")
}

// Queryer is what runs a statement: a *sql.Tx inside a transaction, or the
// *DB (or *sql.DB) outside one. Functions that may run in a caller's
// transaction take it.
type Queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// InTx runs fn inside a transaction, committing when fn returns nil and
// rolling back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
