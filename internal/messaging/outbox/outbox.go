// Package outbox delivers SMS and email reliably: a message is written to
// the outbox table in the same transaction as the change that caused it,
// and a worker hands it to the configured sender with retries, exponential
// backoff and jitter. Web requests never wait on a provider; a crash or an
// outage loses nothing. Bodies that hold codes are encrypted at rest and
// wiped once delivered, failed or expired.
package outbox

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the outbox table.
func Migrations() database.Migrations {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return database.Migrations{Module: "outbox", FS: sub}
}

// Channels and statuses.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"

	StatusQueued  = "queued"
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// Options describe how one message is kept.
type Options struct {
	// Sensitive bodies (codes, links) are encrypted at rest and wiped after
	// delivery, after a permanent failure, or at WipeAt.
	Sensitive bool
	WipeAt    time.Time
	// Ref groups messages for status look-ups, e.g. "phone:<user id>".
	Ref string
}

// Message is one stored message, with its body decrypted when readable.
type Message struct {
	ID        string
	Channel   string
	Recipient string
	Subject   string
	Purpose   string
	Body      string // "" once wiped
	Status    string
	Attempts  int
	LastError string
	ErrorCode string
	Ref       string
	CreatedAt time.Time
	SentAt    time.Time
}

// Config tunes delivery.
type Config struct {
	MaxAttempts int           // then the message is marked failed (default 10)
	BaseBackoff time.Duration // first retry delay (default 2s), doubled each attempt, with jitter
	MaxBackoff  time.Duration // cap (default 5m)
	Lease       time.Duration // how long a claimed message is reserved for one worker (default 2m, longer than any sender's timeout)
	Batch       int           // messages claimed per pass (default 16)
	Poll        time.Duration // idle poll interval (default 1s)
	Observer    Observer      // hears every delivery attempt (default: nobody)
}

// Outbox stores and delivers messages.
type Outbox struct {
	DB    *database.DB
	Clock clock.Clock
	SMS   sms.Sender
	Email email.Sender
	Log   *slog.Logger
	cfg   Config
	aead  cipher.AEAD
	kick  chan struct{}

	lastHousekeeping atomic.Int64 // Unix ms of the last wipe / retention pass
}

// Retention is how long delivered and failed messages (bodies already
// wiped when sensitive) are kept for the delivery status and /dev/outbox.
const Retention = 30 * 24 * time.Hour

// housekeepingEvery spaces out the wipe and retention passes.
const housekeepingEvery = 30 * time.Second

// New builds an outbox whose encryption key is derived from secret.
func New(db *database.DB, clk clock.Clock, secret []byte, smsSender sms.Sender, emailSender email.Sender, log *slog.Logger, cfg Config) (*Outbox, error) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 16
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	block, err := aes.NewCipher(secrets.Derive(secret, "simplemodule outbox encryption v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Outbox{DB: db, Clock: clk, SMS: smsSender, Email: emailSender, Log: log, cfg: cfg, aead: aead, kick: make(chan struct{}, 1)}, nil
}

const encPrefix = "enc:v1:"

func (o *Outbox) seal(id, plain string) string {
	nonce := make([]byte, o.aead.NonceSize())
	rand.Read(nonce)
	ct := o.aead.Seal(nonce, nonce, []byte(plain), []byte(id))
	return encPrefix + base64.RawStdEncoding.EncodeToString(ct)
}

func (o *Outbox) open(id, stored string) (string, error) {
	if !strings.HasPrefix(stored, encPrefix) {
		return stored, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(stored, encPrefix))
	if err != nil || len(raw) < o.aead.NonceSize() {
		return "", errors.New("outbox: undecodable body")
	}
	plain, err := o.aead.Open(nil, raw[:o.aead.NonceSize()], raw[o.aead.NonceSize():], []byte(id))
	if err != nil {
		return "", fmt.Errorf("outbox: decrypt: %w", err)
	}
	return string(plain), nil
}

func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func (o *Outbox) enqueue(ctx context.Context, q database.Queryer, channel, to, subject, purpose, body, html string, opt Options) (string, error) {
	id := secrets.ID()
	if opt.Sensitive {
		body = o.seal(id, body)
		if html != "" {
			html = o.seal(id, html)
		}
	}
	now := o.Clock.Now()
	_, err := q.ExecContext(ctx, `INSERT INTO outbox (id, channel, recipient, subject, purpose, body, html, sensitive, ref, status, next_attempt_at, wipe_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, channel, to, subject, purpose, body, html, opt.Sensitive, opt.Ref, StatusQueued, now.UnixMilli(), nullMS(opt.WipeAt), now.UnixMilli())
	if err != nil {
		return "", fmt.Errorf("enqueue %s: %w", channel, err)
	}
	return id, nil
}

// EnqueueSMS stores m for delivery inside q (the caller's transaction).
// Call Kick after the transaction commits.
func (o *Outbox) EnqueueSMS(ctx context.Context, q database.Queryer, m sms.Message, opt Options) (string, error) {
	return o.enqueue(ctx, q, ChannelSMS, m.To, "", m.Purpose, m.Body, "", opt)
}

// EnqueueEmail stores m for delivery inside q (the caller's transaction).
// Call Kick after the transaction commits.
func (o *Outbox) EnqueueEmail(ctx context.Context, q database.Queryer, m email.Message, opt Options) (string, error) {
	return o.enqueue(ctx, q, ChannelEmail, m.To, m.Subject, "", m.Text, m.HTML, opt)
}

// Kick wakes the worker; it never blocks.
func (o *Outbox) Kick() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// Run delivers due messages until ctx ends, waking on Kick or every Poll.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTicker(o.cfg.Poll)
	defer t.Stop()
	for {
		for {
			n, err := o.DeliverDue(ctx)
			if err != nil && ctx.Err() == nil {
				o.Log.ErrorContext(ctx, "outbox pass failed", "err", err)
			}
			if n < o.cfg.Batch || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		case <-t.C:
		}
	}
}

type claimed struct {
	id, channel, to, subject, purpose, body, html string
	sensitive                                     bool
	attempts                                      int
	lease                                         int64 // locked_until this worker set; results are written only while it holds
}

// claim reserves up to Batch due messages for this worker with a lease, so
// several workers (instances) never deliver one message twice.
func (o *Outbox) claim(ctx context.Context) ([]claimed, error) {
	now := o.Clock.Now().UnixMilli()
	lease := o.Clock.Now().Add(o.cfg.Lease).UnixMilli()
	lock := ""
	if o.DB.Dialect == database.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []claimed
	err := o.DB.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, channel, recipient, subject, purpose, body, html, sensitive, attempts FROM outbox
			WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
			ORDER BY next_attempt_at LIMIT $2`+lock, now, o.cfg.Batch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c claimed
			c.lease = lease
			if err := rows.Scan(&c.id, &c.channel, &c.to, &c.subject, &c.purpose, &c.body, &c.html, &c.sensitive, &c.attempts); err != nil {
				rows.Close()
				return err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'sending', locked_until = $2, attempts = attempts + 1 WHERE id = $1`, c.id, lease); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox claim: %w", err)
	}
	return out, nil
}

// DeliverDue makes one pass: claims due messages and delivers each. It
// returns how many it claimed.
func (o *Outbox) DeliverDue(ctx context.Context) (int, error) {
	if err := o.housekeep(ctx); err != nil {
		return 0, err
	}
	batch, err := o.claim(ctx)
	if err != nil {
		return 0, err
	}
	for _, c := range batch {
		o.deliver(ctx, c)
	}
	return len(batch), nil
}

func (o *Outbox) deliver(ctx context.Context, c claimed) {
	attempt := c.attempts + 1
	body, err := o.open(c.id, c.body)
	html := ""
	if err == nil {
		html, err = o.open(c.id, c.html)
	}
	if err == nil && body == "" && c.sensitive {
		err = messaging.Permanent("", errors.New("message expired before it could be delivered"))
	}
	if err == nil {
		ctx := messaging.WithMessageID(ctx, c.id)
		switch c.channel {
		case ChannelSMS:
			err = o.SMS.Send(ctx, sms.Message{To: c.to, Body: body, Purpose: c.purpose})
		case ChannelEmail:
			err = o.Email.Send(ctx, email.Message{To: c.to, Subject: c.subject, Text: body, HTML: html})
		default:
			err = messaging.Permanent("", fmt.Errorf("unknown channel %q", c.channel))
		}
	}
	now := o.Clock.Now()
	// A finished message keeps no readable secret: wipe sensitive bodies.
	wipe := "body"
	if c.sensitive {
		wipe = "''"
	}
	// Every result is written only while this worker still holds its lease:
	// if a send outlived the lease and another worker took the message, its
	// result wins and this one is dropped.
	const held = ` AND locked_until = $2`
	bg := context.WithoutCancel(ctx)
	var res sql.Result
	var uerr error
	switch {
	case err == nil:
		res, uerr = o.DB.ExecContext(bg, `UPDATE outbox SET status = 'sent', sent_at = $3, locked_until = NULL, last_error = '', body = `+wipe+`, html = CASE WHEN sensitive THEN '' ELSE html END WHERE id = $1`+held,
			c.id, c.lease, now.UnixMilli())
	case messaging.IsPermanent(err) || attempt >= o.cfg.MaxAttempts:
		o.Log.WarnContext(ctx, "outbox message failed", "id", c.id, "channel", c.channel, "attempts", attempt, "err", err)
		res, uerr = o.DB.ExecContext(bg, `UPDATE outbox SET status = 'failed', locked_until = NULL, last_error = $3, error_code = $4, body = `+wipe+`, html = CASE WHEN sensitive THEN '' ELSE html END WHERE id = $1`+held,
			c.id, c.lease, truncate(err.Error(), 500), messaging.PermanentCode(err))
	default:
		next := now.Add(o.backoff(attempt))
		o.Log.InfoContext(ctx, "outbox delivery will be retried", "id", c.id, "channel", c.channel, "attempt", attempt, "next", next, "err", err)
		res, uerr = o.DB.ExecContext(bg, `UPDATE outbox SET status = 'queued', locked_until = NULL, next_attempt_at = $3, last_error = $4 WHERE id = $1`+held,
			c.id, c.lease, next.UnixMilli(), truncate(err.Error(), 500))
	}
	if uerr != nil {
		o.Log.ErrorContext(ctx, "outbox: record delivery result", "id", c.id, "err", uerr)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		o.Log.WarnContext(ctx, "outbox: lease expired before the send finished; another worker owns the message", "id", c.id)
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

// housekeep, at most every housekeepingEvery, wipes sensitive bodies whose
// wipe time has passed (codes that expired undelivered) and deletes finished
// messages older than Retention.
func (o *Outbox) housekeep(ctx context.Context) error {
	now := o.Clock.Now()
	last := o.lastHousekeeping.Load()
	if last != 0 && now.Sub(time.UnixMilli(last)) < housekeepingEvery {
		return nil
	}
	if !o.lastHousekeeping.CompareAndSwap(last, now.UnixMilli()) {
		return nil // another pass of this process is doing it
	}
	if _, err := o.DB.ExecContext(ctx, `UPDATE outbox SET body = '', html = '' WHERE wipe_at <= $1 AND sensitive AND body <> ''`, now.UnixMilli()); err != nil {
		return fmt.Errorf("outbox wipe: %w", err)
	}
	if _, err := o.DB.ExecContext(ctx, `DELETE FROM outbox WHERE created_at < $1 AND status IN ('sent', 'failed')`, now.Add(-Retention).UnixMilli()); err != nil {
		return fmt.Errorf("outbox retention: %w", err)
	}
	return nil
}

func (o *Outbox) scan(rows *sql.Rows) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var created int64
		var sent sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Channel, &m.Recipient, &m.Subject, &m.Purpose, &m.Body, &m.Status, &m.Attempts, &m.LastError, &m.ErrorCode, &m.Ref, &created, &sent); err != nil {
			return nil, err
		}
		m.CreatedAt = time.UnixMilli(created).UTC()
		if sent.Valid {
			m.SentAt = time.UnixMilli(sent.Int64).UTC()
		}
		if b, err := o.open(m.ID, m.Body); err == nil {
			m.Body = b
		} else {
			m.Body = ""
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const messageColumns = `id, channel, recipient, subject, purpose, body, status, attempts, last_error, error_code, ref, created_at, sent_at`

// Latest returns the newest message with ref.
func (o *Outbox) Latest(ctx context.Context, ref string) (Message, bool, error) {
	rows, err := o.DB.QueryContext(ctx, `SELECT `+messageColumns+` FROM outbox WHERE ref = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, ref)
	if err != nil {
		return Message{}, false, err
	}
	list, err := o.scan(rows)
	if err != nil || len(list) == 0 {
		return Message{}, false, err
	}
	return list[0], true, nil
}

// Recent lists the newest messages (the development outbox page).
func (o *Outbox) Recent(ctx context.Context, limit int) ([]Message, error) {
	rows, err := o.DB.QueryContext(ctx, `SELECT `+messageColumns+` FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return o.scan(rows)
}
