package sms

import (
	"context"
	"log/slog"
)

// Console is a Sender that writes each message to a logger instead of
// delivering it, so a developer can copy a code from the terminal.
type Console struct {
	logger *slog.Logger
}

var _ Sender = (*Console)(nil)

// NewConsole returns a Console that logs to logger, or to slog.Default()
// when logger is nil.
func NewConsole(logger *slog.Logger) *Console {
	if logger == nil {
		logger = slog.Default()
	}
	return &Console{logger: logger}
}

// Send writes one Info record holding the recipient, the whole body and
// the purpose. It never fails.
func (c *Console) Send(ctx context.Context, m Message) error {
	c.logger.LogAttrs(ctx, slog.LevelInfo, "sms (console)",
		slog.String("to", m.To),
		slog.String("body", m.Body),
		slog.String("purpose", m.Purpose),
	)
	return nil
}
