package outbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// pool bounds how many messages of one channel this process sends at once.
// A message is claimed only for a slot that is free, so it starts its send
// right away, well inside its lease; a hanging recipient holds one slot and
// nothing else.
type pool struct {
	channel string
	slots   chan struct{} // a token per send in flight; cap is the concurrency
	wake    chan struct{} // Kick or a notification: Run's dispatcher looks for work

	// filling serialises fill (Run's dispatcher and DeliverDue may share
	// the pool), so no one sees slots another fill reserved and is about to
	// give back unused.
	filling sync.Mutex

	mu    sync.Mutex
	freed chan struct{} // closed (and replaced) whenever a send finishes
}

func newPool(channel string, size int) *pool {
	return &pool{channel: channel, slots: make(chan struct{}, size), wake: make(chan struct{}, 1), freed: make(chan struct{})}
}

// reserve takes every free slot without waiting and returns how many it
// got. Taking the slots before claiming keeps the bound exact.
func (p *pool) reserve() int {
	for got := 0; ; got++ {
		select {
		case p.slots <- struct{}{}:
		default:
			return got
		}
	}
}

// unreserve gives back n slots that were reserved but found no message.
// Nobody waits for them: fill is serialised, and a send is still to finish
// for whoever waits for a slot.
func (p *pool) unreserve(n int) {
	for range n {
		<-p.slots
	}
}

// finished gives back the slot of a send that has ended and tells whoever
// waits for one: a slot is free, and the send's recipient may have a next
// message.
func (p *pool) finished() {
	<-p.slots
	p.mu.Lock()
	close(p.freed)
	p.freed = make(chan struct{})
	p.mu.Unlock()
}

// freedSignal returns a channel that is closed the next time a send
// finishes. Take it before filling, so one that ends in between is not
// missed.
func (p *pool) freedSignal() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.freed
}

// poke wakes Run's dispatcher of this pool; it never blocks, and pokes that
// arrive while one is pending merge into it.
func (p *pool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Kick wakes this process's worker at once; it never blocks. Call it after
// the transaction that enqueued a message commits. (Other instances are
// woken by the notification sent inside that transaction on PostgreSQL, and
// by their poll otherwise.)
func (o *Outbox) Kick() {
	for _, p := range o.pools {
		p.poke()
	}
}

// wakeChannel wakes the pool of one channel, or all of them for a channel
// this process does not know.
func (o *Outbox) wakeChannel(channel string) {
	for _, p := range o.pools {
		if p.channel == channel {
			p.poke()
			return
		}
	}
	o.Kick()
}

// Run delivers due messages until ctx ends: each channel's pool claims as
// many messages as it has free slots and sends them concurrently, and looks
// again when one of its sends finishes, on Kick, on a PostgreSQL
// notification from another instance, and every Poll. It returns once
// every send it started has finished; those still running when ctx ends are
// cut off and their messages are due again at once.
func (o *Outbox) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if o.DB.Dialect == database.Postgres {
		wg.Go(func() { o.listen(ctx) })
	}
	for _, p := range o.pools {
		wg.Go(func() { o.dispatch(ctx, p) })
	}
	wg.Wait()
}

// dispatch keeps one pool busy until ctx ends.
func (o *Outbox) dispatch(ctx context.Context, p *pool) {
	var inflight sync.WaitGroup
	defer inflight.Wait()
	poll := time.NewTicker(o.cfg.Poll)
	defer poll.Stop()
	for {
		freed := p.freedSignal()
		busy := len(p.slots) > 0
		if err := o.housekeep(ctx); err != nil && ctx.Err() == nil {
			o.Log.ErrorContext(ctx, "outbox housekeeping failed", "err", err)
		}
		n, full, err := o.fill(ctx, p, &inflight)
		if err != nil && ctx.Err() == nil {
			o.Log.ErrorContext(ctx, "outbox pass failed", "channel", p.channel, "err", err)
		}
		// Look again as soon as a send finishes when every slot was used
		// (more may be due) or sends are in flight (one may be holding back
		// the next message to its recipient). Otherwise nothing is due for
		// now, and only new work (Kick, a notification) or the poll is
		// worth a query.
		var slotFree <-chan struct{}
		if full || busy || n > 0 {
			slotFree = freed
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-poll.C:
		case <-slotFree:
		}
	}
}

// DeliverDue delivers every message that is due now, each channel's pool
// sending concurrently, and returns once all those sends have finished. It
// returns how many messages it claimed. Tests call it instead of running
// the worker, so delivery happens exactly when they ask.
func (o *Outbox) DeliverDue(ctx context.Context) (int, error) {
	if err := o.housekeep(ctx); err != nil {
		return 0, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		errs  []error
	)
	for _, p := range o.pools {
		wg.Go(func() {
			n, err := o.drain(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			total += n
			errs = append(errs, err)
		})
	}
	wg.Wait()
	return total, errors.Join(errs...)
}

// drain delivers p's due messages until none is left and waits for the
// sends.
func (o *Outbox) drain(ctx context.Context, p *pool) (int, error) {
	var inflight sync.WaitGroup
	defer inflight.Wait()
	total := 0
	for {
		freed := p.freedSignal()
		busy := len(p.slots) > 0
		n, full, err := o.fill(ctx, p, &inflight)
		total += n
		switch {
		case err != nil:
			return total, err
		case full && n > 0:
			continue // there may be more, and free slots for them
		case !full && n == 0 && !busy:
			return total, nil // nothing due, nothing in flight
		}
		// Every slot is busy, or a send in flight may be holding back the
		// next message to its recipient: look again once one finishes.
		select {
		case <-freed:
		case <-ctx.Done():
			return total, ctx.Err()
		}
	}
}

// fill claims a due message for every free slot of p and starts sending
// each. It reports how many it started and whether it found as many as it
// had slots for (so more may be due); with no free slot it starts none and
// reports full.
func (o *Outbox) fill(ctx context.Context, p *pool, inflight *sync.WaitGroup) (started int, full bool, err error) {
	p.filling.Lock()
	defer p.filling.Unlock()
	n := p.reserve()
	if n == 0 {
		return 0, true, nil
	}
	batch, err := o.claim(ctx, p.channel, n)
	p.unreserve(n - len(batch))
	for _, c := range batch {
		inflight.Go(func() {
			defer p.finished()
			o.deliver(ctx, c)
		})
	}
	return len(batch), err == nil && len(batch) == n, err
}

type claimed struct {
	id, channel, to, subject, purpose, body, html string
	sensitive                                     bool
	attempts                                      int
	createdAt                                     time.Time
	lease                                         int64 // locked_until this worker set; results are written only while it holds
}

// claim leases up to limit due messages of channel to this worker, each
// until now + Lease. It is called only for slots that are free, so every
// claimed message is sent at once and its send (bounded by SendTimeout,
// shorter than the lease) ends before another worker could take it.
func (o *Outbox) claim(ctx context.Context, channel string, limit int) ([]claimed, error) {
	lock := ""
	if o.DB.Dialect == database.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// A read first: most looks (a kick, a freed slot) find nothing due, and
	// a write transaction would take SQLite's one write lock for nothing.
	var due int
	err := o.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE channel = $1 AND status IN ('queued', 'sending')
		AND next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until <= $2) LIMIT 1) due`, channel, o.Clock.Now().UnixMilli()).Scan(&due)
	if err != nil {
		return nil, fmt.Errorf("outbox claim %s: %w", channel, err)
	}
	if due == 0 {
		return nil, nil
	}
	var out []claimed
	err = o.DB.InTx(ctx, func(tx *sql.Tx) error {
		// The clock is read once the transaction has its connection (and,
		// on SQLite, the write lock): time spent waiting for them must not
		// come off the lease.
		clockNow := o.Clock.Now()
		now, lease := clockNow.UnixMilli(), clockNow.Add(o.cfg.Lease).UnixMilli()
		// A recipient gets one message at a time, oldest first: a message
		// waits while another to the same recipient is being sent or an
		// older one is due. (An older one waiting for a retry does not hold
		// it back.) So a code or link never overtakes the one before it.
		rows, err := tx.QueryContext(ctx, `SELECT id, channel, recipient, subject, purpose, body, html, sensitive, attempts, created_at FROM outbox m
			WHERE channel = $3 AND status IN ('queued', 'sending') AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
			AND NOT EXISTS (SELECT 1 FROM outbox p
				WHERE p.channel = m.channel AND p.recipient = m.recipient AND p.status IN ('queued', 'sending') AND p.id <> m.id
				AND (p.locked_until > $1 OR (p.seq < m.seq AND p.next_attempt_at <= $1)))
			ORDER BY next_attempt_at, seq LIMIT $2`+lock, now, limit, channel)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c claimed
			var created int64
			c.lease = lease
			if err := rows.Scan(&c.id, &c.channel, &c.to, &c.subject, &c.purpose, &c.body, &c.html, &c.sensitive, &c.attempts, &created); err != nil {
				rows.Close()
				return err
			}
			c.createdAt = time.UnixMilli(created)
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		args := make([]any, 0, len(out)+1)
		args = append(args, lease)
		for _, c := range out {
			args = append(args, c.id)
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET status = 'sending', locked_until = $1, attempts = attempts + 1
			WHERE id IN (`+database.Placeholders(2, len(out))+`)`, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("outbox claim %s: %w", channel, err)
	}
	return out, nil
}

// send hands one message to its channel's sender, cut off after
// SendTimeout.
func (o *Outbox) send(ctx context.Context, c claimed) error {
	body, err := o.open(c.id, c.body)
	if err != nil {
		return err
	}
	html, err := o.open(c.id, c.html)
	if err != nil {
		return err
	}
	if body == "" && c.sensitive {
		return messaging.Permanent("", errors.New("message expired before it could be delivered"))
	}
	sendCtx, cancel := context.WithTimeout(messaging.WithMessageID(ctx, c.id), o.cfg.SendTimeout)
	defer cancel()
	switch c.channel {
	case ChannelSMS:
		err = o.SMS.Send(sendCtx, sms.Message{To: c.to, Body: body, Purpose: c.purpose})
	case ChannelEmail:
		err = o.Email.Send(sendCtx, email.Message{To: c.to, Subject: c.subject, Text: body, HTML: html})
	default:
		err = messaging.Permanent("", fmt.Errorf("unknown channel %q", c.channel))
	}
	if err != nil && ctx.Err() == nil && errors.Is(sendCtx.Err(), context.DeadlineExceeded) {
		// The provider did not answer in time. Whatever the sender made of
		// that, the message itself may be fine: retry it. (%v, not %w: a
		// permanent error the sender built from the timeout must not stick.)
		err = fmt.Errorf("no answer within the send timeout of %s: %v", o.cfg.SendTimeout, err)
	}
	return err
}

// The statements that record a send's result. A finished message keeps no
// readable secret: sensitive bodies are wiped. In development
// (KeepDeliveredBodies) a delivered one with a WipeAt may stay (encrypted)
// until then, for /dev/outbox; a failed one is wiped either way. Every
// result is written only while this worker still holds its lease ($2): if a
// send outlived the lease and another worker took the message, its result
// wins and this one is dropped.
const (
	held       = ` AND locked_until = $2`
	wipeBodies = `body = CASE WHEN sensitive THEN '' ELSE body END, html = CASE WHEN sensitive THEN '' ELSE html END`
	markSent   = `UPDATE outbox SET status = 'sent', sent_at = $3, locked_until = NULL, last_error = '', ` + wipeBodies + ` WHERE id = $1` + held
	markFailed = `UPDATE outbox SET status = 'failed', locked_until = NULL, last_error = $3, error_code = $4, failure_kind = $5, ` + wipeBodies + ` WHERE id = $1` + held
	requeue    = `UPDATE outbox SET status = 'queued', locked_until = NULL, next_attempt_at = $3, last_error = $4 WHERE id = $1` + held

	markSentKeep = `UPDATE outbox SET status = 'sent', sent_at = $3, locked_until = NULL, last_error = '',
		body = CASE WHEN sensitive AND wipe_at IS NULL THEN '' ELSE body END, html = CASE WHEN sensitive AND wipe_at IS NULL THEN '' ELSE html END
		WHERE id = $1` + held
)

func (o *Outbox) deliver(ctx context.Context, c claimed) {
	attempt := c.attempts + 1
	err := o.send(ctx, c)
	now := o.Clock.Now()
	sent := markSent
	if o.cfg.KeepDeliveredBodies {
		sent = markSentKeep
	}
	bg := context.WithoutCancel(ctx)
	var res sql.Result
	var uerr error
	var outcome string
	switch {
	case err == nil:
		outcome = OutcomeSent
		res, uerr = o.DB.ExecContext(bg, sent, c.id, c.lease, now.UnixMilli())
	case ctx.Err() != nil && !messaging.IsPermanent(err):
		// The worker is stopping and cut the send off: the message is due
		// again at once, for the next worker to take.
		outcome = OutcomeRetry
		o.Log.InfoContext(bg, "outbox delivery interrupted by shutdown", "id", c.id, "channel", c.channel, "attempt", attempt)
		res, uerr = o.DB.ExecContext(bg, requeue, c.id, c.lease, now.UnixMilli(), truncate(err.Error(), 500))
	case messaging.IsPermanent(err) || attempt >= o.cfg.MaxAttempts:
		outcome = OutcomeFailed
		// A message that ran out of attempts has no permanent error and so
		// no kind of its own.
		kind := messaging.KindOf(err)
		if kind == "" {
			kind = messaging.FailureOther
		}
		o.Log.WarnContext(ctx, "outbox message failed", "id", c.id, "channel", c.channel, "attempts", attempt, "kind", kind, "err", err)
		res, uerr = o.DB.ExecContext(bg, markFailed,
			c.id, c.lease, truncate(err.Error(), 500), messaging.PermanentCode(err), string(kind))
	default:
		outcome = OutcomeRetry
		next := now.Add(o.backoff(attempt))
		o.Log.InfoContext(ctx, "outbox delivery will be retried", "id", c.id, "channel", c.channel, "attempt", attempt, "next", next, "err", err)
		res, uerr = o.DB.ExecContext(bg, requeue, c.id, c.lease, next.UnixMilli(), truncate(err.Error(), 500))
	}
	o.cfg.Observer.Delivered(c.channel, outcome, max(now.Sub(c.createdAt), 0))
	if uerr != nil {
		o.Log.ErrorContext(bg, "outbox: record delivery result", "id", c.id, "err", uerr)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		o.Log.WarnContext(bg, "outbox: lease expired before the send finished; another worker owns the message", "id", c.id)
	}
}

// backoff is BaseBackoff·2^(attempt-1), capped, with ±25 % jitter so a
// recovering provider is not hit by every message at once.
func (o *Outbox) backoff(attempt int) time.Duration {
	d := o.cfg.BaseBackoff
	for i := 1; i < attempt && d < o.cfg.MaxBackoff; i++ {
		d *= 2
	}
	if d > o.cfg.MaxBackoff {
		d = o.cfg.MaxBackoff
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(d/2)+1))
	return d*3/4 + time.Duration(n.Int64())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
