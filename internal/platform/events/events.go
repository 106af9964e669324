// Package events is the in-process bus modules use to publish typed events
// and to subscribe to other modules' events: inside the transaction of the
// change (SubscribeTx) or after it commits (Subscribe).
package events

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
)

// Handler receives every published event; it switches on the type it cares about.
type Handler func(ctx context.Context, event any)

// TxHandler receives events inside the transaction of the change that
// caused them, so what it writes (an outbox message, say) commits or rolls
// back with the change. An error rolls the change back.
type TxHandler func(ctx context.Context, tx *sql.Tx, event any) error

// Bus delivers events synchronously to subscribers, in subscription order.
// A panicking or slow subscriber is the subscriber's problem to avoid; the
// bus recovers panics so one subscriber cannot break a request.
type Bus struct {
	mu         sync.RWMutex
	handlers   []Handler
	txHandlers []TxHandler
	log        *slog.Logger
}

// NewBus returns an empty bus that logs subscriber panics to log.
func NewBus(log *slog.Logger) *Bus { return &Bus{log: log} }

// Subscribe adds h to the bus.
func (b *Bus) Subscribe(h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers = append(b.handlers, h)
}

// SubscribeTx adds a transactional subscriber.
func (b *Bus) SubscribeTx(h TxHandler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txHandlers = append(b.txHandlers, h)
}

// PublishTx hands event to every transactional subscriber inside tx. The
// caller publishes it with Publish after tx commits.
func (b *Bus) PublishTx(ctx context.Context, tx *sql.Tx, event any) error {
	b.mu.RLock()
	hs := append([]TxHandler(nil), b.txHandlers...)
	b.mu.RUnlock()
	for _, h := range hs {
		if err := h(ctx, tx, event); err != nil {
			return fmt.Errorf("event %T: %w", event, err)
		}
	}
	return nil
}

// Publish hands event to every subscriber.
func (b *Bus) Publish(ctx context.Context, event any) {
	b.mu.RLock()
	hs := append([]Handler(nil), b.handlers...)
	b.mu.RUnlock()
	for _, h := range hs {
		func() {
			defer func() {
				if r := recover(); r != nil && b.log != nil {
					b.log.ErrorContext(ctx, "event subscriber panicked", "panic", r)
				}
			}()
			h(ctx, event)
		}()
	}
}
