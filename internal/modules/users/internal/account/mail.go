package account

import (
	"context"
	"database/sql"
	"net/url"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// The emails carrying single-use links, each with a text and an HTML body.
// Security notices (email or password changed, …) belong to the
// Notifications module, which hears this module's events.
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
	// mailInvitation says "7 days" itself: HumanDuration would say it in hours.
	mailInvitation = email.Template{
		Subject: "You are invited to SimpleModule",
		Text: `An administrator has created a SimpleModule account for this address.

To choose your password and sign in, open this link within 7 days:

{{.Link}}

The link works once. If you did not expect this, ignore this message; nobody can sign in to the account until the link is used.
`,
		HTML: `<p>An administrator has created a SimpleModule account for this address.</p>
<p><a href="{{.Link}}">Choose your password</a> (within 7 days)</p>
<p>The link works once. If you did not expect this, ignore this message; nobody can sign in to the account until the link is used.</p>`,
	}
)

type mailData struct {
	Link, TTL string
}

// linkMail is an email carrying a single-use link.
type linkMail struct {
	UserID, To      string
	Purpose, Target string // what the token is bound to
	TTL             time.Duration
	Path            string     // the link's page; userId and code are added
	Query           url.Values // more link parameters
	Template        email.Template
	Audit           *audit // written in the same transaction, when set
	Silent          bool   // issue the token (replacing the previous one) but send nothing
}

// mailLink issues the token and queues the email in one transaction.
func (s *Service) mailLink(ctx context.Context, m linkMail) error {
	return s.change(ctx, func(tx *sql.Tx, _ func(any) error) error { return s.mailLinkTx(ctx, tx, m) })
}

// mailLinkTx is mailLink inside the caller's transaction. The message is
// sensitive: encrypted at rest and wiped after delivery or once the link
// has expired.
func (s *Service) mailLinkTx(ctx context.Context, tx *sql.Tx, m linkMail) error {
	raw, err := s.Store.IssueToken(ctx, tx, m.UserID, m.Purpose, m.Target, m.TTL)
	if err != nil {
		return err
	}
	if m.Audit != nil {
		if err := s.Store.WriteAudit(ctx, tx, *m.Audit); err != nil {
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
	msg, err := m.Template.Render(m.To, mailData{Link: s.BaseURL + m.Path + "?" + q.Encode(), TTL: web.HumanDuration(m.TTL)})
	if err != nil {
		return err
	}
	_, err = s.Outbox.EnqueueEmail(ctx, tx, msg, outbox.Options{Sensitive: true, WipeAt: s.Clock.Now().Add(m.TTL), Ref: "email:" + m.To})
	return err
}

// cooldown is how long the user must wait before another link of purpose.
func (s *Service) cooldown(ctx context.Context, userID, purpose string) (time.Duration, error) {
	last, err := s.Store.LastTokenAt(ctx, userID, purpose)
	if err != nil || last.IsZero() {
		return 0, err
	}
	return last.Add(s.Policy.EmailResendCooldown).Sub(s.Clock.Now()), nil
}
