// Package outbox delivers SMS and email reliably: a message is written to
// the outbox table in the same transaction as the change that caused it,
// and a worker hands it to the configured sender with retries, exponential
// backoff and jitter. Web requests never wait on a provider; a crash or an
// outage loses nothing. Bodies that hold codes are encrypted at rest and
// wiped once delivered, failed or expired.
//
// The worker (worker.go) sends concurrently with a bounded pool per channel,
// leases each message on its own for as long as one send may take, and on
// PostgreSQL is woken by the other instances through LISTEN/NOTIFY
// (listen.go).
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
	// FailureKind says why a failed message failed, without provider codes;
	// "" unless Status is StatusFailed. Callers outside messaging read this.
	FailureKind messaging.FailureKind
	// ErrorCode is the provider's own code of a permanent failure: opaque
	// detail for operators, not to be matched on.
	ErrorCode string
	Ref       string
	CreatedAt time.Time
	SentAt    time.Time
}

// Defaults of Config.
const (
	DefaultSMSConcurrency   = 32
	DefaultEmailConcurrency = 8
	DefaultSendTimeout      = 10 * time.Second
	// LeaseMargin is how much longer than the send timeout a message is
	// leased by default: room for the claim, the result write and a slow
	// database, so a lease never runs out while its send may still be going.
	LeaseMargin = 30 * time.Second
)

// Config tunes delivery.
type Config struct {
	MaxAttempts int           // then the message is marked failed (default 10)
	BaseBackoff time.Duration // first retry delay (default 2s), doubled each attempt, with jitter
	MaxBackoff  time.Duration // cap (default 5m)
	// SMSConcurrency and EmailConcurrency bound how many messages of each
	// channel this instance sends at once (defaults 32 and 8). The channels
	// have their own slots, so a slow SMS provider never holds back email.
	SMSConcurrency   int
	EmailConcurrency int
	// SendTimeout bounds one provider call (default 10s) through the send's
	// context; a send cut off by it is a transient failure and is retried.
	// Providers' own timeouts longer than this never take effect.
	SendTimeout time.Duration
	// Lease is how long a claimed message is reserved for the worker that
	// claimed it (default SendTimeout + LeaseMargin). It must be longer than
	// SendTimeout: a message is claimed only when a slot can send it at
	// once, so its send ends (or is cut off) while the lease holds and no
	// other worker can take it meanwhile.
	Lease    time.Duration
	Poll     time.Duration // how often an idle worker looks for due messages anyway (default 1s); the safety net under Kick and NOTIFY
	Observer Observer      // hears every delivery attempt (default: nobody)
	// KeepDeliveredBodies keeps a sensitive body (still encrypted) after it
	// is sent, until its WipeAt, so /dev/outbox can show codes and links the
	// console senders delivered at once. Development only: production
	// leaves it false, and a delivered code is then unreadable at rest.
	KeepDeliveredBodies bool
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
	pools []*pool // one per channel

	// listening, when set (by tests), is called each time the LISTEN
	// connection is ready.
	listening func()

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
	if cfg.SMSConcurrency <= 0 {
		cfg.SMSConcurrency = DefaultSMSConcurrency
	}
	if cfg.EmailConcurrency <= 0 {
		cfg.EmailConcurrency = DefaultEmailConcurrency
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.Lease <= 0 {
		cfg.Lease = cfg.SendTimeout + LeaseMargin
	}
	if cfg.Lease <= cfg.SendTimeout {
		return nil, fmt.Errorf("outbox: the lease (%s) must be longer than the send timeout (%s), or a message could be sent twice", cfg.Lease, cfg.SendTimeout)
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
	return &Outbox{DB: db, Clock: clk, SMS: smsSender, Email: emailSender, Log: log, cfg: cfg, aead: aead,
		pools: []*pool{newPool(ChannelSMS, cfg.SMSConcurrency), newPool(ChannelEmail, cfg.EmailConcurrency)}}, nil
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

// The statement enqueue runs, by dialect; both take the same arguments.
const (
	insertColumns = `id, channel, recipient, subject, purpose, body, html, sensitive, ref, status, next_attempt_at, wipe_at, created_at`
	insertValues  = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13`
	// PostgreSQL numbers seq from a sequence. The notification that wakes
	// the other instances' workers is sent here, in the caller's
	// transaction, rather than by Kick after the commit: PostgreSQL delivers
	// it exactly when the transaction commits (never for a rolled-back
	// message, never before the row is visible), it costs no extra round
	// trip as part of the INSERT, and Kick stays a local poke that never
	// blocks on the database.
	insertPostgres = `WITH queued AS (INSERT INTO outbox (` + insertColumns + `)
		VALUES (` + insertValues + `) RETURNING channel)
		SELECT pg_notify('` + notifyChannel + `', ` + notifyPayloadSQL + `) FROM queued`
	// SQLite, which writes one transaction at a time, takes the next seq
	// without a race.
	insertSQLite = `INSERT INTO outbox (` + insertColumns + `, seq)
		VALUES (` + insertValues + `, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox))`
)

func (o *Outbox) enqueue(ctx context.Context, q database.Queryer, channel, to, subject, purpose, body, html string, opt Options) (string, error) {
	id := secrets.ID()
	if opt.Sensitive {
		body = o.seal(id, body)
		if html != "" {
			html = o.seal(id, html)
		}
	}
	now := o.Clock.Now()
	insert := insertSQLite
	if o.DB.Dialect == database.Postgres {
		insert = insertPostgres
	}
	_, err := q.ExecContext(ctx, insert,
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

// times converts a row's created_at and sent_at (Unix milliseconds, sent_at
// NULL until sent) to UTC times; the zero time stands for an unsent message.
func times(created int64, sent sql.NullInt64) (createdAt, sentAt time.Time) {
	createdAt = time.UnixMilli(created).UTC()
	if sent.Valid {
		sentAt = time.UnixMilli(sent.Int64).UTC()
	}
	return createdAt, sentAt
}

func (o *Outbox) scan(rows *sql.Rows) ([]Message, error) {
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var created int64
		var sent sql.NullInt64
		if err := rows.Scan(&m.ID, &m.Channel, &m.Recipient, &m.Subject, &m.Purpose, &m.Body, &m.Status, &m.Attempts, &m.LastError, &m.FailureKind, &m.ErrorCode, &m.Ref, &created, &sent); err != nil {
			return nil, err
		}
		m.CreatedAt, m.SentAt = times(created, sent)
		if b, err := o.open(m.ID, m.Body); err == nil {
			m.Body = b
		} else {
			m.Body = ""
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const messageColumns = `id, channel, recipient, subject, purpose, body, status, attempts, last_error, failure_kind, error_code, ref, created_at, sent_at`

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
