package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// Sent is what a person may learn about a message sent to them: when, to
// where, what about and how it went — never its body, which for a code or
// a link is a secret even after it was used.
type Sent struct {
	Channel   string    `json:"channel"`
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject,omitempty"` // email
	Purpose   string    `json:"purpose,omitempty"` // SMS
	Status    string    `json:"status"`
	Sensitive bool      `json:"held_code_or_link"` // its body held a code or a link
	CreatedAt time.Time `json:"queued_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
}

// Person names one person's messages: those addressed to any of
// Addresses (email addresses, E.164 numbers) or grouped under any of Refs
// (Options.Ref, e.g. "phone:<user id>", which also finds codes sent to a
// number the person no longer has).
type Person struct {
	Addresses []string
	Refs      []string
}

// where builds the condition matching p's messages and its arguments;
// ok is false when p names nothing.
func (p Person) where() (string, []any, bool) {
	var args []any
	list := func(values []string) string {
		first := len(args) + 1
		seen := map[string]bool{}
		for _, v := range values {
			if v == "" || seen[v] {
				continue
			}
			seen[v] = true
			args = append(args, v)
		}
		return database.Placeholders(first, len(args)-first+1)
	}
	var conds []string
	// Recipients are stored as typed ("Ann@Example.com") while the users
	// table knows the comparison form: compare without case.
	lowered := make([]string, len(p.Addresses))
	for i, a := range p.Addresses {
		lowered[i] = strings.ToLower(a)
	}
	if m := list(lowered); m != "" {
		conds = append(conds, "LOWER(recipient) IN ("+m+")")
	}
	if m := list(p.Refs); m != "" {
		conds = append(conds, "ref IN ("+m+")")
	}
	return strings.Join(conds, " OR "), args, len(conds) > 0
}

// ForRecipients lists the messages kept for p, oldest first, as metadata
// only: the personal data download shows them without bodies.
func (o *Outbox) ForRecipients(ctx context.Context, p Person) ([]Sent, error) {
	where, args, ok := p.where()
	if !ok {
		return nil, nil
	}
	rows, err := o.DB.QueryContext(ctx, `SELECT channel, recipient, subject, purpose, status, sensitive, created_at, sent_at
		FROM outbox WHERE `+where+` ORDER BY created_at, seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("outbox messages for recipients: %w", err)
	}
	defer rows.Close()
	var out []Sent
	for rows.Next() {
		var m Sent
		var created int64
		var sent sql.NullInt64
		if err := rows.Scan(&m.Channel, &m.Recipient, &m.Subject, &m.Purpose, &m.Status, &m.Sensitive, &created, &sent); err != nil {
			return nil, fmt.Errorf("outbox messages for recipients: %w", err)
		}
		m.CreatedAt, m.SentAt = times(created, sent)
		out = append(out, m)
	}
	return out, rows.Err()
}

// Forget deletes, inside q (the account deletion's transaction), every
// message kept for p, queued or not: a deleted account's addresses leave
// the outbox with it. A message being sent at that moment goes too; the
// worker's lease-guarded result write then finds nothing to update.
func (o *Outbox) Forget(ctx context.Context, q database.Queryer, p Person) (int64, error) {
	where, args, ok := p.where()
	if !ok {
		return 0, nil
	}
	res, err := q.ExecContext(ctx, `DELETE FROM outbox WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("forget outbox recipients: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
