package outbox_test

// These tests run the worker itself (Run) or DeliverDue with fake senders
// that block on channels, on SQLite and PostgreSQL. Nothing sleeps: a test
// waits on a channel, and the safety timeout only turns a hang into a
// failure. The one real wait is a send timeout of 50 ms provoked on purpose.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// safety is how long a test waits for something that should happen at
// once before it gives up: a hang fails the test instead of stalling it.
const safety = 30 * time.Second

// deliveries counts accepted messages of both channels by outbox id and
// announces each on seen.
type deliveries struct {
	mu     sync.Mutex
	perID  map[string]int
	seen   chan string
	before func(ctx context.Context, id, to string) error // runs first; an error fails the send
}

func newDeliveries(capacity int) *deliveries {
	return &deliveries{perID: map[string]int{}, seen: make(chan string, capacity)}
}

func (d *deliveries) accept(ctx context.Context, to string) error {
	id := messaging.MessageID(ctx)
	if d.before != nil {
		if err := d.before(ctx, id, to); err != nil {
			return err
		}
	}
	d.mu.Lock()
	d.perID[id]++
	d.mu.Unlock()
	select {
	case d.seen <- id:
	default:
		panic("deliveries.seen is full: give it a larger capacity")
	}
	return nil
}

func (d *deliveries) count(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.perID[id]
}

type smsTo struct{ *deliveries }

func (s smsTo) Send(ctx context.Context, m sms.Message) error { return s.accept(ctx, m.To) }

type emailTo struct{ *deliveries }

func (e emailTo) Send(ctx context.Context, m email.Message) error { return e.accept(ctx, m.To) }

func newWorkerOutbox(t *testing.T, db *database.DB, clk clock.Clock, d *deliveries, cfg outbox.Config) *outbox.Outbox {
	t.Helper()
	o, err := outbox.New(db, clk, secret, smsTo{d}, emailTo{d}, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func enqueueSMSTo(t *testing.T, o *outbox.Outbox, db *database.DB, to string) string {
	t.Helper()
	return enqueueProviderSMS(t, o, db, sms.Message{To: to, Body: "hello " + to, Purpose: "test"}, outbox.Options{})
}

func enqueueEmailTo(t *testing.T, o *outbox.Outbox, db *database.DB, to string) string {
	t.Helper()
	return enqueueProviderEmail(t, o, db, email.Message{To: to, Subject: "Hello", Text: "hello " + to}, outbox.Options{})
}

// runWorker runs o.Run in the background. stop ends it and waits until it
// has returned; the test's cleanup calls it too.
func runWorker(t *testing.T, o *outbox.Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(safety):
				t.Errorf("Run did not return within %s after its context ended", safety)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// receive takes n ids from seen, failing if they do not all arrive.
func receive(t *testing.T, seen <-chan string, n int) []string {
	t.Helper()
	deadline := time.NewTimer(safety)
	defer deadline.Stop()
	var got []string
	for len(got) < n {
		select {
		case id := <-seen:
			got = append(got, id)
		case <-deadline.C:
			t.Fatalf("got %d deliveries within %s, want %d", len(got), safety, n)
		}
	}
	return got
}

// await waits for one signal on ch.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(safety):
		t.Fatalf("waited %s for %s", safety, what)
	}
}

// deliverDue runs DeliverDue, failing if it hangs.
func deliverDue(t *testing.T, o *outbox.Outbox) int {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := o.DeliverDue(context.Background())
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("DeliverDue: %v", r.err)
		}
		return r.n
	case <-time.After(safety):
		t.Fatalf("DeliverDue did not return within %s", safety)
		return 0
	}
}

// holdSends makes each send to a recipient that hold picks announce itself
// on entered, then wait until release is closed (delivered) or its context
// ends (failed). Other sends go through at once.
func holdSends(d *deliveries, entered chan<- struct{}, release <-chan struct{}, hold func(to string) bool) {
	d.before = func(ctx context.Context, _, to string) error {
		if !hold(to) {
			return nil
		}
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// One SMS recipient whose provider call hangs holds one SMS slot and
// nothing else: the other SMS go through the remaining slot and the emails
// through their own pool while it hangs.
func TestHangingRecipientHoldsOnlyItsSlot(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		clk := start()
		const hangingTo = "+14155550100"
		entered := make(chan struct{}, 1)
		release := make(chan struct{})
		d := newDeliveries(16)
		holdSends(d, entered, release, func(to string) bool { return to == hangingTo })
		// The send timeout is long: only the test ends the hang. The poll
		// is longer still: Kick wakes the worker.
		o := newWorkerOutbox(t, db, clk, d, outbox.Config{SMSConcurrency: 2, EmailConcurrency: 1, SendTimeout: time.Hour, Poll: time.Hour})
		hanging := enqueueSMSTo(t, o, db, hangingTo)
		stop := runWorker(t, o)
		await(t, entered, "the hanging send to start")

		var others []string
		for i := range 5 {
			others = append(others, enqueueSMSTo(t, o, db, fmt.Sprintf("+1415555011%d", i)))
		}
		for i := range 3 {
			others = append(others, enqueueEmailTo(t, o, db, fmt.Sprintf("user%d@example.com", i)))
		}
		o.Kick()
		got := receive(t, d.seen, len(others))
		slices.Sort(got)
		want := slices.Sorted(slices.Values(others))
		if !slices.Equal(got, want) {
			t.Errorf("delivered while one send hangs: got %v, want %v", got, want)
		}
		if n := d.count(hanging); n != 0 {
			t.Fatalf("the hanging message: got %d deliveries before its release, want 0", n)
		}

		close(release)
		if got := receive(t, d.seen, 1); got[0] != hanging {
			t.Errorf("after the release: got %s delivered, want the hanging message %s", got[0], hanging)
		}
		stop()
		for _, id := range append(others, hanging) {
			if n := d.count(id); n != 1 {
				t.Errorf("%s: delivered %d times, want 1", id, n)
			}
		}
	})
}

// Two instances on one database, both running their worker, with a slow
// provider: every message is sent once, and only while the worker that
// sends it holds its lease.
//
// The provider answers in rounds: the test waits until sends are waiting
// at it, answers them all, and waits until their results are written
// before it takes the next round, so each worker keeps its slots full and
// claims again while the other one does. The clock is the real one: a
// lease (40 s) outlives the test, so a message sent twice here would be
// one claimed by both workers at once.
func TestTwoWorkersSlowProviderSendEachOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		url := dbtest.URL(t, engine)
		dbA, dbB := open(t, url), open(t, url)
		clk := clock.System{}
		const n = 60
		atProvider := make(chan chan struct{})
		d := newDeliveries(2 * n)
		d.before = func(ctx context.Context, id, _ string) error {
			var leasedUntil int64
			if err := dbA.QueryRowContext(ctx, `SELECT locked_until FROM outbox WHERE id = $1`, id).Scan(&leasedUntil); err != nil {
				return err
			}
			if now := clk.Now(); leasedUntil <= now.UnixMilli() {
				t.Errorf("%s: sent at %s, after its lease ran out at %s", id, now, time.UnixMilli(leasedUntil))
			}
			answer := make(chan struct{})
			select {
			case atProvider <- answer:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case <-answer:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		written := make(chan struct{}, 2*n)
		cfg := outbox.Config{SMSConcurrency: 4, EmailConcurrency: 2, Poll: time.Hour, Observer: signalObserver(written)}
		a := newWorkerOutbox(t, dbA, clk, d, cfg)
		b := newWorkerOutbox(t, dbB, clk, d, cfg)
		var ids []string
		for i := range n {
			if i%3 == 0 {
				ids = append(ids, enqueueEmailTo(t, a, dbA, fmt.Sprintf("user%d@example.com", i)))
			} else {
				ids = append(ids, enqueueSMSTo(t, a, dbA, fmt.Sprintf("+141555502%02d", i)))
			}
		}
		stopA, stopB := runWorker(t, a), runWorker(t, b)
		for answered := 0; answered < n; {
			var waiting []chan struct{}
			select {
			case w := <-atProvider:
				waiting = append(waiting, w)
			case <-time.After(safety):
				t.Fatalf("after %d answers, no send reached the provider within %s", answered, safety)
			}
			for more := true; more; {
				select {
				case w := <-atProvider:
					waiting = append(waiting, w)
				default:
					more = false
				}
			}
			for _, w := range waiting {
				close(w)
			}
			for range waiting {
				await(t, written, "a delivery result to be written")
			}
			answered += len(waiting)
		}
		stopA()
		stopB()
		for _, id := range ids {
			if got := d.count(id); got != 1 {
				t.Errorf("%s: delivered %d times, want 1", id, got)
			}
		}
	})
}

// A worker leases only the messages it can send at once: while its slots
// are busy, the rest stay queued without a lease, free for any other
// worker. (Leasing a whole batch and sending it one by one let leases run
// out before the tail was sent, and another instance sent it again.)
func TestWorkerLeasesOnlyWhatItCanSend(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		url := dbtest.URL(t, engine)
		dbA, dbB := open(t, url), open(t, url)
		clk := start()
		entered := make(chan struct{}, 8)
		release := make(chan struct{})
		d := newDeliveries(8)
		holdSends(d, entered, release, func(string) bool { return true })
		a := newWorkerOutbox(t, dbA, clk, d, outbox.Config{SMSConcurrency: 2, SendTimeout: time.Hour, Poll: time.Hour})
		var ids []string
		for i := range 5 {
			ids = append(ids, enqueueSMSTo(t, a, dbA, fmt.Sprintf("+141555505%02d", i)))
		}
		stop := runWorker(t, a)
		await(t, entered, "the first send")
		await(t, entered, "the second send")

		if leased, queued := leaseCounts(t, dbA); leased != 2 || queued != 3 {
			t.Fatalf("while both slots are busy: got %d leased and %d queued without lease, want 2 and 3", leased, queued)
		}
		// Another instance takes the rest at once.
		b := newWorkerOutbox(t, dbB, clk, d, outbox.Config{SMSConcurrency: 8, SendTimeout: time.Hour})
		bDone := make(chan int, 1)
		go func() {
			n, err := b.DeliverDue(context.Background())
			if err != nil {
				t.Error(err)
			}
			bDone <- n
		}()
		for range 3 {
			await(t, entered, "instance B's sends")
		}
		close(release)
		receive(t, d.seen, 5)
		select {
		case n := <-bDone:
			if n != 3 {
				t.Errorf("instance B claimed %d messages, want 3", n)
			}
		case <-time.After(safety):
			t.Fatal("instance B's DeliverDue did not return")
		}
		stop()
		for _, id := range ids {
			if got := d.count(id); got != 1 {
				t.Errorf("%s: delivered %d times, want 1", id, got)
			}
		}
	})
}

// leaseCounts returns how many messages are leased and how many are queued
// without a lease.
func leaseCounts(t *testing.T, db *database.DB) (leased, queued int) {
	t.Helper()
	err := db.QueryRow(`SELECT
		COALESCE(SUM(CASE WHEN status = 'sending' AND locked_until IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'queued' AND locked_until IS NULL THEN 1 ELSE 0 END), 0)
		FROM outbox`).Scan(&leased, &queued)
	if err != nil {
		t.Fatal(err)
	}
	return leased, queued
}

// signalObserver signals on ch after each attempt's result is written.
type signalObserver chan struct{}

func (s signalObserver) Delivered(string, string, time.Duration) { s <- struct{}{} }

// A provider that does not answer is cut off by the send timeout; the
// message is retried, not failed, and arrives once.
func TestSendTimeoutIsRetriedAndDeliveredOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		clk := start()
		var calls atomic.Int32
		d := newDeliveries(4)
		d.before = func(ctx context.Context, _, _ string) error {
			if calls.Add(1) == 1 {
				<-ctx.Done() // hangs until the outbox gives up on it
				return fmt.Errorf("provider: %w", ctx.Err())
			}
			return nil
		}
		obs := &recordingObserver{}
		o := newWorkerOutbox(t, db, clk, d, outbox.Config{MaxAttempts: 5, BaseBackoff: time.Second, MaxBackoff: 8 * time.Second,
			SendTimeout: 50 * time.Millisecond, Observer: obs})
		id := enqueueSMSTo(t, o, db, "+14155550132")

		deliverDue(t, o)
		if r := readRow(t, db, id); r.status != outbox.StatusQueued || r.attempts != 1 || !strings.Contains(r.lastError, "send timeout") {
			t.Fatalf("after the timeout: got %+v, want queued after 1 attempt with a send-timeout error", r)
		}
		clk.Advance(10 * time.Second)
		deliverDue(t, o)
		if got := d.count(id); got != 1 {
			t.Errorf("deliveries: got %d, want 1", got)
		}
		if got := calls.Load(); got != 2 {
			t.Errorf("provider calls: got %d, want 2", got)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent {
			t.Errorf("status: got %q, want sent", r.status)
		}
		if got, want := obs.outcomes(), []string{"sms retry", "sms sent"}; !slices.Equal(got, want) {
			t.Errorf("observed: got %v, want %v", got, want)
		}
	})
}

// A sender that turns the timeout into a permanent error does not get the
// message failed: the outbox cut it off, so it is retried.
func TestSendTimeoutNeverFailsAMessage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		clk := start()
		var calls atomic.Int32
		d := newDeliveries(4)
		d.before = func(ctx context.Context, _, _ string) error {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return messaging.PermanentFailure(messaging.FailureRejected, "", ctx.Err())
			}
			return nil
		}
		o := newWorkerOutbox(t, db, clk, d, outbox.Config{BaseBackoff: time.Second, SendTimeout: 50 * time.Millisecond})
		id := enqueueSMSTo(t, o, db, "+14155550132")
		deliverDue(t, o)
		if r := readRow(t, db, id); r.status != outbox.StatusQueued {
			t.Fatalf("after the timeout: got status %q, want queued", r.status)
		}
		clk.Advance(time.Minute)
		deliverDue(t, o)
		if got := d.count(id); got != 1 {
			t.Errorf("deliveries: got %d, want 1", got)
		}
	})
}

// No pool sends more at once than its concurrency, and DeliverDue keeps
// claiming as slots free up until nothing is due.
func TestPoolBoundsConcurrentSends(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		clk := start()
		const concurrency, n = 3, 9
		// Sends wait in rounds of three: a pool with fewer slots would
		// never fill a round (and the test would fail on the safety
		// timeout); one with more would show more in flight.
		b := &barrier{size: concurrency, gate: make(chan struct{})}
		d := newDeliveries(n)
		d.before = func(ctx context.Context, _, _ string) error { return b.wait(ctx) }
		o := newWorkerOutbox(t, db, clk, d, outbox.Config{SMSConcurrency: concurrency, SendTimeout: time.Minute})
		var ids []string
		for i := range n {
			ids = append(ids, enqueueSMSTo(t, o, db, fmt.Sprintf("+141555503%02d", i)))
		}
		if got := deliverDue(t, o); got != n {
			t.Errorf("DeliverDue: got %d claimed, want %d", got, n)
		}
		if got := b.mostInFlight(); got != concurrency {
			t.Errorf("sends in flight at once: got at most %d, want %d", got, concurrency)
		}
		for _, id := range ids {
			if got := d.count(id); got != 1 {
				t.Errorf("%s: delivered %d times, want 1", id, got)
			}
		}
		if got := deliverDue(t, o); got != 0 {
			t.Errorf("second DeliverDue: got %d claimed, want 0", got)
		}
	})
}

// barrier lets sends through in groups of size and remembers how many were
// in flight at once.
type barrier struct {
	mu       sync.Mutex
	size     int
	waiting  int
	inFlight int
	most     int
	gate     chan struct{}
}

func (b *barrier) wait(ctx context.Context) error {
	b.mu.Lock()
	b.inFlight++
	b.most = max(b.most, b.inFlight)
	b.waiting++
	gate := b.gate
	if b.waiting == b.size {
		close(gate)
		b.gate, b.waiting = make(chan struct{}), 0
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *barrier) mostInFlight() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.most
}

// One recipient's messages go out one at a time and in the order they were
// queued, even when queued in the same millisecond, while different
// recipients' messages go out together.
func TestOneRecipientOneAtATimeInOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		clk := start() // never moves: every message has the same created_at
		const ann, bob = "+14155550601", "+14155550602"
		// Sends wait in pairs: they pass only when two are at the provider
		// at once, which must be one to each recipient.
		b := &barrier{size: 2, gate: make(chan struct{})}
		var mu sync.Mutex
		inFlight := map[string]int{}
		order := map[string][]string{}
		d := newDeliveries(16)
		d.before = func(ctx context.Context, id, to string) error {
			mu.Lock()
			inFlight[to]++
			if inFlight[to] > 1 {
				t.Errorf("%s: two messages sent at once", to)
			}
			order[to] = append(order[to], id)
			mu.Unlock()
			defer func() {
				mu.Lock()
				inFlight[to]--
				mu.Unlock()
			}()
			return b.wait(ctx)
		}
		o := newWorkerOutbox(t, db, clk, d, outbox.Config{SendTimeout: time.Minute})
		want := map[string][]string{}
		for range 4 {
			for _, to := range []string{ann, bob} {
				want[to] = append(want[to], enqueueSMSTo(t, o, db, to))
			}
		}
		if got := deliverDue(t, o); got != 8 {
			t.Errorf("DeliverDue: got %d claimed, want 8", got)
		}
		for _, to := range []string{ann, bob} {
			if !slices.Equal(order[to], want[to]) {
				t.Errorf("%s: got order %v, want %v", to, order[to], want[to])
			}
		}
	})
}

// Kick wakes an idle worker at once: its poll is an hour away.
func TestKickWakesIdleWorker(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		clk := start()
		d := newDeliveries(4)
		o := newWorkerOutbox(t, db, clk, d, outbox.Config{Poll: time.Hour})
		first := enqueueSMSTo(t, o, db, "+14155550132")
		runWorker(t, o)
		if got := receive(t, d.seen, 1); got[0] != first {
			t.Fatalf("first pass: got %s, want %s", got[0], first)
		}
		second := enqueueEmailTo(t, o, db, "ada@example.com")
		o.Kick()
		if got := receive(t, d.seen, 1); got[0] != second {
			t.Errorf("after Kick: got %s, want %s", got[0], second)
		}
	})
}

// On PostgreSQL a message queued through instance A wakes instance B's
// idle worker through LISTEN/NOTIFY; B's poll is an hour away, and A's Kick
// reaches only A.
func TestNotifyWakesAnotherInstance(t *testing.T) {
	url := dbtest.URL(t, "postgres")
	dbA, dbB := open(t, url), open(t, url)
	clk := start()
	idle := outbox.Config{Poll: time.Hour}
	nobody := newDeliveries(1)
	nobody.before = func(context.Context, string, string) error {
		t.Error("instance A, which runs no worker, sent a message")
		return errors.New("A runs no worker")
	}
	a := newWorkerOutbox(t, dbA, clk, nobody, idle)
	d := newDeliveries(8)
	b := newWorkerOutbox(t, dbB, clk, d, idle)
	listening := make(chan struct{}, 1)
	outbox.SetListening(b, func() {
		select {
		case listening <- struct{}{}:
		default:
		}
	})
	runWorker(t, b)
	await(t, listening, "instance B to LISTEN")

	// Each pool of B wakes by itself twice at most: its first pass and the
	// pass after LISTEN connects. Three messages per channel, each queued
	// after the previous one arrived, need a third wake-up at least: only
	// A's notifications can give it.
	for i := range 3 {
		for _, enqueue := range []func() string{
			func() string { return enqueueSMSTo(t, a, dbA, fmt.Sprintf("+141555504%02d", i)) },
			func() string { return enqueueEmailTo(t, a, dbA, fmt.Sprintf("user%d@example.com", i)) },
		} {
			id := enqueue()
			a.Kick()
			if got := receive(t, d.seen, 1); got[0] != id {
				t.Fatalf("B delivered %s, want %s", got[0], id)
			}
		}
	}
}

// The kind of a failure is stored with the message and read back by
// Latest; the provider's code stays beside it for operators.
func TestFailureKindStoredAndReadBack(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus string
		wantKind   messaging.FailureKind
		wantCode   string
	}{
		{name: "sent", err: nil, wantStatus: outbox.StatusSent, wantKind: ""},
		{name: "invalid recipient", err: messaging.PermanentFailure(messaging.FailureInvalidRecipient, "P-101", errors.New("not a number")), wantStatus: outbox.StatusFailed, wantKind: messaging.FailureInvalidRecipient, wantCode: "P-101"},
		{name: "unreachable", err: messaging.PermanentFailure(messaging.FailureUnreachable, "P-102", errors.New("landline")), wantStatus: outbox.StatusFailed, wantKind: messaging.FailureUnreachable, wantCode: "P-102"},
		{name: "blocked", err: messaging.PermanentFailure(messaging.FailureBlocked, "P-103", errors.New("STOP")), wantStatus: outbox.StatusFailed, wantKind: messaging.FailureBlocked, wantCode: "P-103"},
		{name: "rejected", err: messaging.PermanentFailure(messaging.FailureRejected, "20003", errors.New("authenticate")), wantStatus: outbox.StatusFailed, wantKind: messaging.FailureRejected, wantCode: "20003"},
		{name: "permanent without kind", err: messaging.Permanent("P-104", errors.New("carrier")), wantStatus: outbox.StatusFailed, wantKind: messaging.FailureOther, wantCode: "P-104"},
		{name: "out of attempts", err: errors.New("503"), wantStatus: outbox.StatusFailed, wantKind: messaging.FailureOther},
	}
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clk := start()
				s := &fakeSMS{fail: func(sms.Message) error { return tt.err }}
				o := newOutboxWith(t, db, clk, s, outbox.Config{MaxAttempts: 1})
				ref := "phone:" + tt.name
				enqueue(t, o, db, "code 123456", outbox.Options{Sensitive: true, Ref: ref})
				deliverDue(t, o)
				m, ok, err := o.Latest(context.Background(), ref)
				if err != nil || !ok {
					t.Fatalf("Latest: got %v, %v", ok, err)
				}
				if m.Status != tt.wantStatus || m.FailureKind != tt.wantKind || m.ErrorCode != tt.wantCode {
					t.Errorf("got status %q kind %q code %q, want %q %q %q", m.Status, m.FailureKind, m.ErrorCode, tt.wantStatus, tt.wantKind, tt.wantCode)
				}
			})
		}
	})
}

// recordingObserver keeps every attempt it hears of.
type recordingObserver struct {
	mu       sync.Mutex
	attempts []observed
}

type observed struct {
	channel, outcome string
	sinceCreated     time.Duration
}

func (r *recordingObserver) Delivered(channel, outcome string, sinceCreated time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, observed{channel, outcome, sinceCreated})
}

func (r *recordingObserver) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.attempts {
		out = append(out, a.channel+" "+a.outcome)
	}
	return out
}

func (r *recordingObserver) all() []observed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts)
}

// The Observer hears each attempt once, with its outcome and the time since
// the message was queued.
func TestObserverHearsEveryAttempt(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := open(t, dbtest.URL(t, engine))
		clk := start()
		var smsCalls atomic.Int32
		d := newDeliveries(4)
		d.before = func(_ context.Context, _, to string) error {
			if strings.Contains(to, "@") {
				return messaging.PermanentFailure(messaging.FailureInvalidRecipient, "550", errors.New("no such mailbox"))
			}
			if smsCalls.Add(1) == 1 {
				return errors.New("503")
			}
			return nil
		}
		obs := &recordingObserver{}
		o := newWorkerOutbox(t, db, clk, d, outbox.Config{BaseBackoff: time.Second, MaxBackoff: time.Second, Observer: obs})
		enqueueSMSTo(t, o, db, "+14155550132")
		clk.Advance(3 * time.Second)
		enqueueEmailTo(t, o, db, "nobody@example.com")
		clk.Advance(2 * time.Second)
		deliverDue(t, o) // SMS retried after 5 s, email failed after 2 s
		clk.Advance(10 * time.Second)
		deliverDue(t, o) // SMS sent after 15 s

		got := obs.all()
		slices.SortFunc(got, func(a, b observed) int { return int(a.sinceCreated - b.sinceCreated) })
		want := []observed{
			{outbox.ChannelEmail, outbox.OutcomeFailed, 2 * time.Second},
			{outbox.ChannelSMS, outbox.OutcomeRetry, 5 * time.Second},
			{outbox.ChannelSMS, outbox.OutcomeSent, 15 * time.Second},
		}
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestNewRefusesLeaseNotLongerThanSendTimeout(t *testing.T) {
	db := open(t, dbtest.URL(t, "sqlite"))
	tests := []struct {
		name    string
		cfg     outbox.Config
		wantErr bool
	}{
		{name: "defaults", cfg: outbox.Config{}},
		{name: "timeout only: the lease follows it", cfg: outbox.Config{SendTimeout: 5 * time.Minute}},
		{name: "lease longer than the timeout", cfg: outbox.Config{SendTimeout: time.Second, Lease: 2 * time.Second}},
		{name: "lease equal to the timeout", cfg: outbox.Config{SendTimeout: time.Minute, Lease: time.Minute}, wantErr: true},
		{name: "lease shorter than the default timeout", cfg: outbox.Config{Lease: 5 * time.Second}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := outbox.New(db, start(), secret, sms.NewRecorder(), email.NewRecorder(), slog.New(slog.DiscardHandler), tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("got error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
