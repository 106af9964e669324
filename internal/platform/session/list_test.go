package session

import (
	"context"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

// A session started before migration 004 has no public id, user agent or
// last-seen time: it is listed all the same, with a stable id of its own.
func TestListGivesOlderSessionsAPublicID(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		db := dbtest.Open(t, engine, database.PlatformMigrations())
		clk := clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
		s := &Store{Clock: clk}
		now := clk.Now().UnixMilli()
		if _, err := db.Exec(`INSERT INTO sessions (id_hash, user_id, security_stamp, persistent, created_at, expires_at) VALUES ('old-hash', 'u1', 'st', $1, $2, $3)`,
			false, now, now+ShortLifetime.Milliseconds()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Create(ctx, db, "u1", "st", true, Client{UserAgent: "Firefox/133.0", IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		first, err := s.List(ctx, db, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != 2 {
			t.Fatalf("listed: got %d, want 2", len(first))
		}
		again, err := s.List(ctx, db, "u1")
		if err != nil {
			t.Fatal(err)
		}
		for i, in := range first {
			if in.PublicID == "" || in.PublicID == in.IDHash {
				t.Errorf("session %d: public id %q, want a random id of its own", i, in.PublicID)
			}
			if again[i].PublicID != in.PublicID {
				t.Errorf("session %d: public id changed from %q to %q", i, in.PublicID, again[i].PublicID)
			}
			if !in.LastSeenAt.Equal(in.CreatedAt) {
				t.Errorf("session %d: last seen %s, want its sign-in %s", i, in.LastSeenAt, in.CreatedAt)
			}
		}
		if first[0].PublicID == first[1].PublicID {
			t.Error("two sessions share a public id")
		}
		if ok, err := s.DeleteByPublicID(ctx, db, "someone-else", first[0].PublicID); err != nil || ok {
			t.Errorf("delete as another user: got %v, %v; want false", ok, err)
		}
		if ok, err := s.DeleteByPublicID(ctx, db, "u1", first[0].PublicID); err != nil || !ok {
			t.Errorf("delete as the owner: got %v, %v; want true", ok, err)
		}
	})
}
