package database_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

// sampleMigrations stand in for a module's schema.
var sampleMigrations = database.Migrations{Module: "sample", FS: fstest.MapFS{
	"001_things.sql": {Data: []byte(`CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL);`)},
	"002_index.sql":  {Data: []byte(`CREATE INDEX things_n ON things (n);`)},
}}

// Several instances starting at once on one database all succeed, apply
// each migration once, and agree on one generated app secret.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		url := dbtest.URL(t, kind)
		const instances = 4
		secrets := make([][]byte, instances)
		var wg sync.WaitGroup
		for i := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, err := database.Open(context.Background(), url)
				if err != nil {
					t.Error(err)
					return
				}
				defer db.Close()
				if err := db.Migrate(context.Background(), database.PlatformMigrations(), sampleMigrations); err != nil {
					t.Errorf("instance %d: migrate: %v", i, err)
					return
				}
				if secrets[i], err = db.AppSecret(context.Background(), ""); err != nil {
					t.Errorf("instance %d: secret: %v", i, err)
				}
			}()
		}
		wg.Wait()
		db, err := database.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var applied, distinct int
		db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT module || ':' || version) FROM schema_migrations`).Scan(&applied, &distinct)
		if applied == 0 || applied != distinct {
			t.Errorf("schema_migrations: got %d rows for %d distinct migrations, want each once", applied, distinct)
		}
		for i := 1; i < instances; i++ {
			if len(secrets[i]) != 32 || !bytes.Equal(secrets[i], secrets[0]) {
				t.Errorf("instance %d got a different or short app secret", i)
			}
		}
	})
}

// A file named for one dialect applies only there.
func TestDialectSpecificMigrations(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db, err := database.Open(context.Background(), dbtest.URL(t, kind))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fsys := fstest.MapFS{
			"001_common.sql":        {Data: []byte(`CREATE TABLE common (id TEXT);`)},
			"002_only.sqlite.sql":   {Data: []byte(`CREATE TABLE only_sqlite (id TEXT);`)},
			"002_only.postgres.sql": {Data: []byte(`CREATE TABLE only_postgres (id TEXT);`)},
			"README.md":             {Data: []byte(`not a migration`)},
		}
		if err := db.Migrate(context.Background(), database.Migrations{Module: "m", FS: fsys}); err != nil {
			t.Fatal(err)
		}
		other := map[string]string{"sqlite": "only_postgres", "postgres": "only_sqlite"}[kind]
		if _, err := db.Exec(`SELECT COUNT(*) FROM only_` + kind); err != nil {
			t.Errorf("the %s migration did not run: %v", kind, err)
		}
		if _, err := db.Exec(`SELECT COUNT(*) FROM ` + other); err == nil {
			t.Errorf("the other dialect's migration (%s) ran too", other)
		}
	})
}
