package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

// SQLite connections keep statements prepared; a statement whose rows are
// still open is not reused for a second query of the same text, scripts
// still run whole, and run-time queries past the cache bound still work.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, "sqlite", sampleMigrations)
	// A script of several statements runs every one of them.
	if _, err := db.ExecContext(ctx, `INSERT INTO things (id, n) VALUES ('a', 1); INSERT INTO things (id, n) VALUES ('b', 2);`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT id, n FROM things ORDER BY n`
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		outer, err := tx.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer outer.Close()
		var seen []string
		for outer.Next() {
			var id string
			var n int
			if err := outer.Scan(&id, &n); err != nil {
				return err
			}
			// The same text again while the outer rows are open.
			var count int
			inner, err := tx.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			for inner.Next() {
				count++
			}
			inner.Close()
			seen = append(seen, fmt.Sprintf("%s:%d", id, count))
		}
		if got, want := fmt.Sprint(seen), "[a:2 b:2]"; got != want {
			t.Errorf("nested reads: got %s, want %s", got, want)
		}
		return outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	// More distinct statements than the cache holds, each run twice.
	for round := range 2 {
		for i := range 300 {
			var n int
			if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) + %d FROM things`, i)).Scan(&n); err != nil {
				t.Fatalf("round %d, query %d: %v", round, i, err)
			}
			if n != 2+i {
				t.Fatalf("round %d, query %d: got %d, want %d", round, i, n, 2+i)
			}
		}
	}
}
