package session

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

// lastSeenAt reads a session's stored last-seen time.
func lastSeenAt(t *testing.T, db *database.DB, idHash string) time.Time {
	t.Helper()
	var ms int64
	if err := db.QueryRow(`SELECT last_seen_at FROM sessions WHERE id_hash = $1`, idHash).Scan(&ms); err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(ms).UTC()
}

func TestSeenWritesAtMostOnceAMinute(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		db := dbtest.Open(t, engine, database.PlatformMigrations())
		clk := clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
		s := &Store{Clock: clk}
		t.Cleanup(func() { s.Close(ctx) })
		_, sess, err := s.Create(ctx, db, "u1", "stamp", false, Client{UserAgent: "Firefox/1", IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		start := clk.Now()

		steps := []struct {
			name       string
			advance    time.Duration
			wantQueued bool
			wantSeen   time.Duration // after start
		}{
			{name: "just signed in", advance: time.Second, wantQueued: false, wantSeen: 0},
			{name: "59 s in", advance: 58 * time.Second, wantQueued: false, wantSeen: 0},
			{name: "60 s in", advance: time.Second, wantQueued: true, wantSeen: time.Minute},
			{name: "90 s in", advance: 30 * time.Second, wantQueued: false, wantSeen: time.Minute},
			{name: "120 s in", advance: 30 * time.Second, wantQueued: true, wantSeen: 2 * time.Minute},
		}
		for _, st := range steps {
			clk.Advance(st.advance)
			s.Seen(db, sess.IDHash)
			s.Seen(db, sess.IDHash) // a second request at the same moment adds nothing
			s.seen.mu.Lock()
			queued := len(s.seen.queue)
			s.seen.mu.Unlock()
			// The writer may have taken the note already; Flush settles it.
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := lastSeenAt(t, db, sess.IDHash), start.Add(st.wantSeen); !got.Equal(want) {
				t.Errorf("%s: last seen %s, want %s", st.name, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
			}
			if !st.wantQueued && queued != 0 {
				t.Errorf("%s: %d notes queued, want none", st.name, queued)
			}
			if queued > 1 {
				t.Errorf("%s: %d notes queued, want at most 1", st.name, queued)
			}
		}
	})
}

func TestSeenDropsWhenFullAndStopsOnClose(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, "sqlite", database.PlatformMigrations())
	clk := clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	s := &Store{Clock: clk}
	// Hold the writer back, so nothing leaves the queue while it fills.
	s.seen.write.Lock()
	for i := range seenQueue + 10 {
		s.Seen(db, fmt.Sprintf("session-%d", i)) // never blocks, even when full
	}
	if got := len(s.seen.queue); got != seenQueue {
		t.Errorf("queued: got %d, want %d (the rest dropped)", got, seenQueue)
	}
	s.seen.mu.Lock()
	noted := len(s.seen.noted)
	s.seen.mu.Unlock()
	if noted != seenQueue {
		t.Errorf("noted: got %d, want %d (a dropped note is noted again next time)", noted, seenQueue)
	}
	s.seen.write.Unlock()

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(s.seen.queue); got != 0 {
		t.Errorf("queued after Close: got %d, want 0 (written)", got)
	}
	s.seen.mu.Lock()
	running := s.seen.running
	s.seen.mu.Unlock()
	if running {
		t.Error("writer still running after Close")
	}
	clk.Advance(time.Hour)
	s.Seen(db, "session-0")
	if got := len(s.seen.queue); got != 0 {
		t.Errorf("queued after Close: got %d, want 0 (ignored)", got)
	}
}
