package outbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// notifyChannel is the PostgreSQL notification channel every instance's
// worker listens on. Enqueueing notifies it inside the caller's transaction
// (see enqueue), so an instance's worker wakes when another instance queues
// a message instead of at its next poll.
const notifyChannel = "simplemodule_outbox"

// notifyPayloadSQL is the payload: the schema the outbox table lives in,
// a space, and the message's channel. Notification channels are shared by
// the whole database, so the schema lets deployments (or tests) that share
// one database in separate schemas ignore each other's messages.
const notifyPayloadSQL = `coalesce(current_schema(), '') || ' ' || channel`

// How long the listener waits before reconnecting: doubling from the
// first value to the second while the database stays unreachable.
const (
	listenRetryMin = 250 * time.Millisecond
	listenRetryMax = 30 * time.Second
)

// listen keeps a dedicated connection LISTENing until ctx ends, and wakes
// the pool of each notified channel. When the connection fails it
// reconnects with backoff; meanwhile the poll still finds every message.
func (o *Outbox) listen(ctx context.Context) {
	delay := listenRetryMin
	for {
		err := o.listenOnce(ctx, func() { delay = listenRetryMin })
		if ctx.Err() != nil {
			return
		}
		o.Log.WarnContext(ctx, "outbox: LISTEN connection lost; other instances' messages wait for the poll until it is back",
			"err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, listenRetryMax)
	}
}

// listenOnce connects, listens, and waits for notifications until the
// connection fails or ctx ends; connected is called once it listens.
func (o *Outbox) listenOnce(ctx context.Context, connected func()) error {
	cfg, err := o.listenConfig(ctx)
	if err != nil {
		return err
	}
	// A connection of its own, outside the database/sql pool: it sits in
	// WaitForNotification for hours and must not be handed to a query.
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	var schema string
	if err := conn.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	// Messages queued while nobody listened (before the first connection,
	// or during a reconnect) were announced to no one: look for them now.
	o.Kick()
	if o.listening != nil {
		o.listening()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		s, channel, ok := strings.Cut(n.Payload, " ")
		if !ok || s != schema {
			continue // another schema's outbox
		}
		o.wakeChannel(channel)
	}
}

// listenConfig borrows the settings of the pool's connections (address,
// credentials, TLS, search_path), so the listener reaches the same database
// and schema without being given the URL again.
func (o *Outbox) listenConfig(ctx context.Context) (*pgx.ConnConfig, error) {
	conn, err := o.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("borrow a connection: %w", err)
	}
	defer conn.Close()
	var cfg *pgx.ConnConfig
	err = conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected PostgreSQL driver connection %T", driverConn)
		}
		cfg = c.Conn().Config()
		// The borrowed connection's notification hook points at its own
		// buffer; the listener's connection must get one of its own.
		cfg.OnNotification = nil
		return nil
	})
	return cfg, err
}
