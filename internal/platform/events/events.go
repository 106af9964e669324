// Package events is the in-process bus modules use to publish typed events
// after a transaction commits and to subscribe to other modules' events.
package events

import (
	"context"
	"log/slog"
	"sync"
)

// Handler receives every published event; it switches on the type it cares about.
type Handler func(ctx context.Context, event any)

// Bus delivers events synchronously to subscribers, in subscription order.
// A panicking or slow subscriber is the subscriber's problem to avoid; the
// bus recovers panics so one subscriber cannot break a request.
type Bus struct {
	mu       sync.RWMutex
	handlers []Handler
	log      *slog.Logger
}

// NewBus returns an empty bus that logs subscriber panics to log.
func NewBus(log *slog.Logger) *Bus { return &Bus{log: log} }

// Subscribe adds h to the bus.
func (b *Bus) Subscribe(h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers = append(b.handlers, h)
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
