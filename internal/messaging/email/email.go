// Package email defines the Sender that modules use to send email, a console
// implementation for development, an in-memory Recorder for tests and a small
// Template helper. Real providers live in sub-packages (email/smtp).
package email

import (
	"context"
	"log/slog"
)

// Message is one email to one recipient. Text is always sent; HTML, when set,
// is sent as an alternative part.
type Message struct {
	// To is the recipient address, e.g. "ada@example.com".
	To string
	// Subject is the subject line.
	Subject string
	// Text is the plain-text body.
	Text string
	// HTML is the optional HTML body.
	HTML string
}

// Sender delivers email. Implementations must be safe for concurrent use.
type Sender interface {
	// Send delivers m or returns an error describing why it could not
	// (messaging.PermanentFailure when retrying cannot help). It must give
	// up when ctx ends: the outbox cuts a send off by its context, and a
	// send that ignored that could outlive the message's lease.
	Send(ctx context.Context, m Message) error
}

// Console is a Sender for development: it writes each message to the log
// instead of delivering it, so a developer can copy links from the terminal.
type Console struct {
	logger *slog.Logger
}

// NewConsole returns a Console that logs to logger, or to slog.Default() when
// logger is nil.
func NewConsole(logger *slog.Logger) *Console {
	if logger == nil {
		logger = slog.Default()
	}
	return &Console{logger: logger}
}

// Send logs one Info record, "email (console)", holding the recipient, the
// subject and the whole text body. It never fails.
func (c *Console) Send(ctx context.Context, m Message) error {
	c.logger.InfoContext(ctx, "email (console)",
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.String("body", m.Text),
	)
	return nil
}
