package session

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// seenInterval is how stale a session's last-seen time may get: it is
// written at most once per interval per session.
const seenInterval = time.Minute

const (
	seenQueue   = 1024            // notes waiting to be written; more are dropped
	seenDelay   = 2 * time.Second // how long the writer gathers notes into one batch
	seenTimeout = 10 * time.Second
)

type seenNote struct {
	idHash string
	at     time.Time
}

// lastSeen batches last-seen writes off the request path. A request only
// notes its session (a map look-up and, once a minute, a non-blocking send
// on a bounded queue); a writer goroutine, started when there is something
// to write and gone again when there is not, writes each batch (see
// Flush). A full queue drops the note: the next request a minute later
// notes it again, and a late last-seen time is harmless.
type lastSeen struct {
	mu      sync.Mutex           // guards everything below but write
	db      *database.DB         // the sessions' database, from the first note
	noted   map[string]time.Time // session → when last noted, on the store's clock
	queue   chan seenNote
	stop    chan struct{} // closed by Close
	running bool
	closed  bool
	wg      sync.WaitGroup

	write sync.Mutex // held while notes leave the queue until they are written
}

// Seen notes that the session idHash, on db, was used now. It never blocks
// on the database; the time is written within seconds (or at Flush), and
// at most once per seenInterval per session.
func (s *Store) Seen(db *database.DB, idHash string) {
	l := &s.seen
	now := s.Clock.Now()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	if at, ok := l.noted[idHash]; ok && now.Sub(at) < seenInterval {
		l.mu.Unlock()
		return
	}
	l.init(db)
	select {
	case l.queue <- seenNote{idHash: idHash, at: now}:
		l.noted[idHash] = now
	default: // full: dropped, noted again by a later request
	}
	start := !l.running
	if start {
		l.running = true
		l.wg.Add(1)
	}
	l.mu.Unlock()
	if start {
		go s.runSeen()
	}
}

// markSeen records that a session was seen at at (its creation) without
// queueing a write, so its first minute costs nothing. l.mu must not be held.
func (l *lastSeen) markSeen(idHash string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.noted == nil {
		l.noted = map[string]time.Time{}
	}
	l.noted[idHash] = at
}

// init makes the queue on first use; l.mu is held.
func (l *lastSeen) init(db *database.DB) {
	if l.queue == nil {
		l.queue = make(chan seenNote, seenQueue)
		l.stop = make(chan struct{})
	}
	if l.noted == nil {
		l.noted = map[string]time.Time{}
	}
	if l.db == nil {
		l.db = db
	}
}

// runSeen writes a batch every seenDelay while there are notes, and once
// more when the store closes; it ends when the queue is empty.
func (s *Store) runSeen() {
	l := &s.seen
	defer l.wg.Done()
	timer := time.NewTimer(seenDelay)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-l.stop:
		}
		ctx, cancel := context.WithTimeout(context.Background(), seenTimeout)
		if err := s.Flush(ctx); err != nil {
			s.logger().Error("write session last-seen times", "err", err)
		}
		cancel()
		l.mu.Lock()
		if l.closed || len(l.queue) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		timer.Reset(seenDelay)
	}
}

// Flush writes every noted last-seen time now (in one transaction on
// SQLite, one statement each on PostgreSQL) and returns when they are
// written. Tests call it instead of waiting for the
// writer; the sessions pages call it so they show what was just noted.
func (s *Store) Flush(ctx context.Context) error {
	l := &s.seen
	l.write.Lock()
	defer l.write.Unlock()
	l.mu.Lock()
	db, queue := l.db, l.queue
	cutoff := s.Clock.Now().Add(-seenInterval)
	for id, at := range l.noted {
		if !at.After(cutoff) {
			delete(l.noted, id) // noted again on its next use anyway
		}
	}
	l.mu.Unlock()
	var batch []seenNote
drain:
	for queue != nil {
		select {
		case n := <-queue:
			batch = append(batch, n)
		default:
			break drain
		}
	}
	if len(batch) == 0 {
		return nil
	}
	write := func(q database.Queryer) error {
		for _, n := range batch {
			// Guarded, so several instances together still write at most
			// once a minute, and never move the time backwards.
			at := n.at.UnixMilli()
			if _, err := q.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1
				WHERE id_hash = $2 AND (last_seen_at IS NULL OR last_seen_at <= $3)`, at, n.idHash, at-seenInterval.Milliseconds()); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if db.Dialect == database.Postgres {
		// One statement each: a batch holding several rows' locks until
		// its commit could deadlock with a transaction ending the same
		// user's sessions in another order.
		err = write(db)
	} else {
		// One transaction: SQLite writes one at a time anyway, and a
		// commit per row would cost a WAL write each.
		err = db.InTx(ctx, func(tx *sql.Tx) error { return write(tx) })
	}
	if err != nil {
		return fmt.Errorf("last seen: %w", err)
	}
	return nil
}

// Close writes what is noted and stops the writer; later notes are
// ignored. Call it before closing the database.
func (s *Store) Close(ctx context.Context) error {
	l := &s.seen
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	if l.stop != nil {
		close(l.stop)
	}
	l.mu.Unlock()
	l.wg.Wait()
	return s.Flush(ctx)
}

func (s *Store) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
