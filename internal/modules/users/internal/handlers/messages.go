package handlers

import (
	"context"
	"database/sql"
	"net/url"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// The emails the Users module sends, each with a text and an HTML body.
var (
	mailConfirm = email.Template{
		Subject: "Confirm your email address",
		Text: `Please confirm the email address of your SimpleModule account by opening this link:

{{.Link}}

The link works once and expires in {{.TTL}}. If you did not create an account, ignore this message.
`,
		HTML: `<p>Please confirm the email address of your SimpleModule account.</p>
<p><a href="{{.Link}}">Confirm my email address</a></p>
<p>The link works once and expires in {{.TTL}}. If you did not create an account, ignore this message.</p>`,
	}
	mailChangeEmail = email.Template{
		Subject: "Confirm your new email address",
		Text: `To use this address for your SimpleModule account, open this link:

{{.Link}}

The link works once and expires in {{.TTL}}. If you did not ask for this, ignore this message.
`,
		HTML: `<p>To use this address for your SimpleModule account, confirm it:</p>
<p><a href="{{.Link}}">Use this email address</a></p>
<p>The link works once and expires in {{.TTL}}. If you did not ask for this, ignore this message.</p>`,
	}
	mailEmailChanged = email.Template{
		Subject: "Your email address was changed",
		Text: `The email address of your SimpleModule account was changed from {{.Old}} to {{.New}}.

If you did not do this, reset your password at once and contact support.
`,
		HTML: `<p>The email address of your SimpleModule account was changed from <strong>{{.Old}}</strong> to <strong>{{.New}}</strong>.</p>
<p>If you did not do this, reset your password at once and contact support.</p>`,
	}
	mailResetPassword = email.Template{
		Subject: "Reset your SimpleModule password",
		Text: `Someone asked to reset the password of your SimpleModule account.

To choose a new password, open this link within {{.TTL}}:

{{.Link}}

If it was not you, ignore this message; your password stays as it is.
`,
		HTML: `<p>Someone asked to reset the password of your SimpleModule account.</p>
<p><a href="{{.Link}}">Choose a new password</a> (within {{.TTL}})</p>
<p>If it was not you, ignore this message; your password stays as it is.</p>`,
	}
)

type mailData struct {
	Link, TTL, Old, New string
}

// queueEmail renders t and writes it to the outbox inside q, the
// transaction of the change that causes it. Messages holding links are
// sensitive: encrypted at rest and wiped after delivery or at wipeAt.
func (h *Handler) queueEmail(ctx context.Context, q database.Queryer, t email.Template, to string, data mailData, wipeAt time.Time) error {
	m, err := t.Render(to, data)
	if err != nil {
		return err
	}
	_, err = h.Outbox.EnqueueEmail(ctx, q, m, outbox.Options{Sensitive: data.Link != "", WipeAt: wipeAt, Ref: "email:" + to})
	return err
}

// linkMail is an email carrying a single-use link.
type linkMail struct {
	UserID, To      string
	Purpose, Target string // what the token is bound to
	TTL             time.Duration
	Path            string     // the link's page; userId and code are added
	Query           url.Values // more link parameters
	Template        email.Template
	Audit           *store.Audit // written in the same transaction, when set
	Silent          bool         // issue the token (replacing the previous one) but send nothing
}

// mailLink issues the token and queues the email in one transaction, then
// wakes the outbox worker.
func (h *Handler) mailLink(ctx context.Context, m linkMail) error {
	if err := h.Store.DB.InTx(ctx, func(tx *sql.Tx) error { return h.mailLinkTx(ctx, tx, m) }); err != nil {
		return err
	}
	h.Outbox.Kick()
	return nil
}

// mailLinkTx is mailLink inside the caller's transaction; the caller kicks
// the outbox after committing.
func (h *Handler) mailLinkTx(ctx context.Context, tx *sql.Tx, m linkMail) error {
	raw, err := h.Store.IssueToken(ctx, tx, m.UserID, m.Purpose, m.Target, m.TTL)
	if err != nil {
		return err
	}
	if m.Audit != nil {
		if err := h.Store.WriteAudit(ctx, tx, *m.Audit); err != nil {
			return err
		}
	}
	if m.Silent {
		return nil
	}
	q := url.Values{"userId": {m.UserID}}
	for k, v := range m.Query {
		q[k] = v
	}
	q.Set("code", raw)
	data := mailData{Link: h.link(m.Path, q), TTL: web.HumanDuration(m.TTL)}
	return h.queueEmail(ctx, tx, m.Template, m.To, data, h.Kit.Clock.Now().Add(m.TTL))
}
