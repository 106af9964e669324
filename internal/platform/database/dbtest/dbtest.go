// Package dbtest gives tests a fresh, real database: SQLite in a temporary
// directory, and PostgreSQL in a schema of its own when
// SIMPLEMODULE_TEST_POSTGRES_URL is set. Only tests import it.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// PostgresEnv names the variable holding the test PostgreSQL URL.
const PostgresEnv = "SIMPLEMODULE_TEST_POSTGRES_URL"

// Engines are the databases every integration test runs on.
var Engines = []string{"sqlite", "postgres"}

// ForEach runs fn as a subtest per engine. PostgreSQL is skipped with a
// one-line reason when not configured, except on CI (CI=true), where a
// missing database fails the test instead of skipping silently.
func ForEach(t *testing.T, fn func(t *testing.T, engine string)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				RequirePostgres(t)
			}
			fn(t, engine)
		})
	}
}

// RequirePostgres returns the test PostgreSQL URL; it skips (or on CI
// fails) when none is configured.
func RequirePostgres(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, and CI=true requires the PostgreSQL tests to run", PostgresEnv)
		}
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresEnv)
	}
	return u
}

// URL returns the address of a fresh, empty database on engine ("sqlite" or
// "postgres"), removed when the test ends.
func URL(t testing.TB, engine string) string {
	t.Helper()
	if engine == "sqlite" {
		return "sqlite:" + t.TempDir() + "/test.db"
	}
	base := RequirePostgres(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens a fresh database on engine with the given migrations applied,
// closed when the test ends.
func Open(t testing.TB, engine string, migrations ...database.Migrations) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), URL(t, engine))
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations...); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
