package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

// fakeSMS records deliveries and fails while fail returns an error.
type fakeSMS struct {
	mu   sync.Mutex
	got  map[string]int // body → deliveries
	fail func(m sms.Message) error
}

func (f *fakeSMS) Send(_ context.Context, m sms.Message) error {
	if f.fail != nil {
		if err := f.fail(m); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.got == nil {
		f.got = map[string]int{}
	}
	f.got[m.Body]++
	return nil
}

func (f *fakeSMS) count(body string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[body]
}

func (f *fakeSMS) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.got {
		n += c
	}
	return n
}

var secret = []byte("0123456789abcdef0123456789abcdef")

func open(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), outbox.Migrations()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newOutbox(t *testing.T, db *database.DB, clk clock.Clock, s sms.Sender) *outbox.Outbox {
	t.Helper()
	return newOutboxWith(t, db, clk, s, outbox.Config{MaxAttempts: 5, BaseBackoff: time.Second, MaxBackoff: 8 * time.Second})
}

func newOutboxWith(t *testing.T, db *database.DB, clk clock.Clock, s sms.Sender, cfg outbox.Config) *outbox.Outbox {
	t.Helper()
	o, err := outbox.New(db, clk, secret, s, email.NewRecorder(), slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func enqueue(t *testing.T, o *outbox.Outbox, db *database.DB, body string, opt outbox.Options) string {
	t.Helper()
	var id string
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = o.EnqueueSMS(context.Background(), tx, sms.Message{To: "+14155550132", Body: body, Purpose: "test"}, opt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func rawBody(t *testing.T, db *database.DB, id string) (body, status string) {
	t.Helper()
	if err := db.QueryRow(`SELECT body, status FROM outbox WHERE id = $1`, id).Scan(&body, &status); err != nil {
		t.Fatal(err)
	}
	return body, status
}

func start() *clock.Fake { return clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) }

func TestDeliverAndWipe(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		s := &fakeSMS{}
		o := newOutbox(t, db, clk, s)
		id := enqueue(t, o, db, "Your code is 482913", outbox.Options{Sensitive: true, Ref: "phone:u1"})
		if body, _ := rawBody(t, db, id); strings.Contains(body, "482913") {
			t.Fatalf("queued body is readable at rest: %q", body)
		}
		if n, err := o.DeliverDue(context.Background()); err != nil || n != 1 {
			t.Fatalf("DeliverDue: got %d, %v; want 1, nil", n, err)
		}
		if got := s.count("Your code is 482913"); got != 1 {
			t.Errorf("deliveries: got %d, want 1", got)
		}
		body, status := rawBody(t, db, id)
		if status != outbox.StatusSent || body != "" {
			t.Errorf("after delivery: got status %q body %q, want sent and wiped", status, body)
		}
		if m, ok, _ := o.Latest(context.Background(), "phone:u1"); !ok || m.Status != outbox.StatusSent {
			t.Errorf("Latest: got %+v, %v; want sent", m, ok)
		}
	})
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		calls := 0
		s := &fakeSMS{fail: func(sms.Message) error {
			calls++
			return messaging.Permanent("P-101", errors.New("invalid 'To' number"))
		}}
		o := newOutbox(t, db, clk, s)
		id := enqueue(t, o, db, "code 111111", outbox.Options{Sensitive: true, Ref: "r"})
		for range 5 {
			o.DeliverDue(context.Background())
			clk.Advance(time.Minute)
		}
		if calls != 1 {
			t.Errorf("provider calls: got %d, want 1", calls)
		}
		body, status := rawBody(t, db, id)
		if status != outbox.StatusFailed || body != "" {
			t.Errorf("got status %q body %q, want failed and wiped", status, body)
		}
		m, _, _ := o.Latest(context.Background(), "r")
		if m.ErrorCode != "P-101" {
			t.Errorf("error code: got %q, want P-101", m.ErrorCode)
		}
	})
}

func TestTransientFailuresRetryWithBackoffThenGiveUp(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		calls := 0
		s := &fakeSMS{fail: func(sms.Message) error { calls++; return errors.New("503 from provider") }}
		o := newOutbox(t, db, clk, s)
		id := enqueue(t, o, db, "hello", outbox.Options{})
		o.DeliverDue(context.Background())
		o.DeliverDue(context.Background()) // not due yet: backoff
		if calls != 1 {
			t.Fatalf("calls before backoff elapsed: got %d, want 1", calls)
		}
		for range 20 {
			clk.Advance(10 * time.Second)
			o.DeliverDue(context.Background())
		}
		if calls != 5 {
			t.Errorf("calls: got %d, want 5 (MaxAttempts)", calls)
		}
		if _, status := rawBody(t, db, id); status != outbox.StatusFailed {
			t.Errorf("status: got %q, want failed", status)
		}
	})
}

// A 30-second provider outage, then recovery: every message arrives once.
func TestOutageThenRecoveryDeliversEachOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		downUntil := clk.Now().Add(30 * time.Second)
		s := &fakeSMS{fail: func(sms.Message) error {
			if clk.Now().Before(downUntil) {
				return errors.New("connection refused")
			}
			return nil
		}}
		// Default-like retry budget: 10 attempts, 1 s doubling to 8 s, spans the outage.
		o := newOutboxWith(t, db, clk, s, outbox.Config{MaxAttempts: 10, BaseBackoff: time.Second, MaxBackoff: 8 * time.Second})
		for i := range 20 {
			enqueue(t, o, db, fmt.Sprintf("message %d", i), outbox.Options{})
		}
		for range 90 {
			o.DeliverDue(context.Background())
			clk.Advance(time.Second)
		}
		for i := range 20 {
			if got := s.count(fmt.Sprintf("message %d", i)); got != 1 {
				t.Errorf("message %d: delivered %d times, want 1", i, got)
			}
		}
	})
}

// Messages queued by a process that stopped are delivered by the next one.
func TestPendingMessagesSurviveRestart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		url := dbtest.URL(t, kind)
		clk := start()
		db1 := open(t, url)
		first := newOutbox(t, db1, clk, &fakeSMS{})
		enqueue(t, first, db1, "before restart", outbox.Options{})
		db1.Close()

		db2 := open(t, url)
		s := &fakeSMS{}
		second := newOutbox(t, db2, clk, s)
		second.DeliverDue(context.Background())
		if got := s.count("before restart"); got != 1 {
			t.Errorf("delivered after restart: got %d, want 1", got)
		}
	})
}

// A worker that died mid-delivery leaves a lease; another picks the
// message up once the lease expires.
func TestExpiredLeaseIsRetaken(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		s := &fakeSMS{}
		o := newOutbox(t, db, clk, s)
		id := enqueue(t, o, db, "leased", outbox.Options{})
		if _, err := db.Exec(`UPDATE outbox SET status = 'sending', locked_until = $2 WHERE id = $1`, id, clk.Now().Add(time.Minute).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		o.DeliverDue(context.Background())
		if s.total() != 0 {
			t.Fatalf("delivered while another worker holds the lease")
		}
		clk.Advance(61 * time.Second)
		o.DeliverDue(context.Background())
		if got := s.count("leased"); got != 1 {
			t.Errorf("after lease expiry: got %d deliveries, want 1", got)
		}
	})
}

func TestSensitiveBodyWipedAtExpiry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		s := &fakeSMS{fail: func(sms.Message) error { return errors.New("down") }}
		o := newOutbox(t, db, clk, s)
		id := enqueue(t, o, db, "code 222222", outbox.Options{Sensitive: true, WipeAt: clk.Now().Add(10 * time.Minute)})
		o.DeliverDue(context.Background())
		if body, _ := rawBody(t, db, id); body == "" {
			t.Fatal("wiped before expiry")
		}
		clk.Advance(11 * time.Minute)
		o.DeliverDue(context.Background())
		if body, _ := rawBody(t, db, id); body != "" {
			t.Errorf("body after expiry: got %q, want wiped", body)
		}
	})
}

// KeepDeliveredBodies (development) keeps a sent sensitive body, encrypted,
// until its WipeAt; without it (production) the body is wiped once sent.
func TestKeepDeliveredBodies(t *testing.T) {
	tests := []struct {
		name string
		keep bool
	}{
		{name: "production wipes after delivery", keep: false},
		{name: "development keeps until expiry", keep: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.ForEach(t, func(t *testing.T, kind string) {
				db := open(t, dbtest.URL(t, kind))
				clk := start()
				o := newOutboxWith(t, db, clk, &fakeSMS{}, outbox.Config{KeepDeliveredBodies: tt.keep})
				id := enqueue(t, o, db, "Your code is 305117", outbox.Options{Sensitive: true, WipeAt: clk.Now().Add(10 * time.Minute)})
				// A sensitive message without an expiry is never kept.
				noExpiry := enqueue(t, o, db, "Your code is 733001", outbox.Options{Sensitive: true})
				if n, err := o.DeliverDue(context.Background()); err != nil || n != 2 {
					t.Fatalf("DeliverDue: got %d, %v; want 2, nil", n, err)
				}
				body, status := rawBody(t, db, id)
				if status != outbox.StatusSent {
					t.Fatalf("status: got %q, want sent", status)
				}
				if strings.Contains(body, "305117") {
					t.Errorf("kept body is readable at rest: %q", body)
				}
				if got := body != ""; got != tt.keep {
					t.Errorf("body kept after delivery: got %v, want %v", got, tt.keep)
				}
				if body, _ := rawBody(t, db, noExpiry); body != "" {
					t.Errorf("body without expiry: got %q, want wiped", body)
				}
				recent, err := o.Recent(context.Background(), 10)
				if err != nil {
					t.Fatal(err)
				}
				shown := false
				for _, m := range recent {
					shown = shown || m.Body == "Your code is 305117"
				}
				if shown != tt.keep {
					t.Errorf("Recent shows the delivered body: got %v, want %v", shown, tt.keep)
				}
				clk.Advance(11 * time.Minute)
				o.DeliverDue(context.Background())
				if body, _ := rawBody(t, db, id); body != "" {
					t.Errorf("body after expiry: got %q, want wiped", body)
				}
			})
		})
	}
}

// Two instances sharing one PostgreSQL database never send a message twice.
func TestTwoInstancesNoDuplicates(t *testing.T) {
	url := dbtest.URL(t, "postgres")
	clk := start()
	s := &fakeSMS{}
	dbA, dbB := open(t, url), open(t, url)
	a, b := newOutbox(t, dbA, clk, s), newOutbox(t, dbB, clk, s)
	const n = 200
	for i := range n {
		enqueue(t, a, dbA, fmt.Sprintf("m%d", i), outbox.Options{})
	}
	var wg sync.WaitGroup
	for _, o := range []*outbox.Outbox{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := o.DeliverDue(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if got := s.count(fmt.Sprintf("m%d", i)); got != 1 {
			t.Errorf("m%d delivered %d times, want 1", i, got)
		}
	}
}

// A send that outlives its lease loses the message to another worker, and
// its late result does not overwrite the other worker's.
func TestLateResultAfterLostLeaseIsDropped(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		fast := &fakeSMS{}
		b := newOutbox(t, db, clk, fast)
		slowCalls := 0
		slow := &fakeSMS{fail: func(sms.Message) error {
			slowCalls++
			clk.Advance(3 * time.Minute) // longer than the lease
			if _, err := b.DeliverDue(context.Background()); err != nil {
				t.Error(err)
			}
			return errors.New("timeout")
		}}
		a := newOutbox(t, db, clk, slow)
		id := enqueue(t, a, db, "contested", outbox.Options{})
		a.DeliverDue(context.Background())
		if slowCalls != 1 || fast.count("contested") != 1 {
			t.Fatalf("got slow=%d fast=%d sends, want 1 and 1", slowCalls, fast.count("contested"))
		}
		if _, status := rawBody(t, db, id); status != outbox.StatusSent {
			t.Errorf("status: got %q, want sent (the late failure must not requeue it)", status)
		}
		clk.Advance(time.Hour)
		a.DeliverDue(context.Background())
		if fast.count("contested")+slowCalls != 2 {
			t.Errorf("the message was sent again after it was delivered")
		}
	})
}

func TestFinishedMessagesExpireAfterRetention(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		o := newOutbox(t, db, clk, &fakeSMS{})
		enqueue(t, o, db, "old news", outbox.Options{})
		o.DeliverDue(context.Background())
		clk.Advance(outbox.Retention - time.Hour)
		o.DeliverDue(context.Background())
		if n := countRows(t, db); n != 1 {
			t.Fatalf("inside retention: got %d rows, want 1", n)
		}
		clk.Advance(2 * time.Hour)
		o.DeliverDue(context.Background())
		if n := countRows(t, db); n != 0 {
			t.Errorf("after retention: got %d rows, want 0", n)
		}
	})
}

func countRows(t *testing.T, db *database.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
