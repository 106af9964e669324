// Package email defines the Sender that modules use to send email, a console
// implementation for development, an in-memory Recorder for tests and a small
// Template helper. Real providers live in sub-packages (email/smtp).
package email

import (
	"context"
	"log/slog"
	"strings"
	"sync"
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
	// mu keeps one message's records together when several are sent at
	// once, so no other email's lines land in the middle of its body.
	mu sync.Mutex
}

// NewConsole returns a Console that logs to logger, or to slog.Default() when
// logger is nil.
func NewConsole(logger *slog.Logger) *Console {
	if logger == nil {
		logger = slog.Default()
	}
	return &Console{logger: logger}
}

// Send logs one Info record, "email (console)", with the recipient, the
// subject and the number of body lines, then one "email (console) body"
// record per line of the text body, in order. A whole body in one record
// came out as a single unreadable line of several hundred characters (the
// text handler escapes newlines); line by line, a link can be read and
// copied as it is. Blank lines are left out. It never fails.
func (c *Console) Send(ctx context.Context, m Message) error {
	lines := bodyLines(m.Text)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logger.LogAttrs(ctx, slog.LevelInfo, "email (console)",
		slog.String("to", m.To),
		slog.String("subject", m.Subject),
		slog.Int("lines", len(lines)),
	)
	for _, l := range lines {
		c.logger.LogAttrs(ctx, slog.LevelInfo, "email (console) body", slog.String("line", l))
	}
	return nil
}

// bodyLines splits a text body into its non-blank lines, trailing spaces
// and carriage returns removed.
func bodyLines(text string) []string {
	var out []string
	for l := range strings.SplitSeq(text, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
