package notifications

import (
	"context"
	"database/sql"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

var (
	mailPasskeyAdded = email.Template{
		Subject: "A passkey was added to your account",
		Text: `A passkey named "{{.New}}" was added to your SimpleModule account. It signs you in without a password.

If you did not do this, delete it on your passkeys page and change your password at once: {{.Link}}
`,
		HTML: `<p>A passkey named <strong>{{.New}}</strong> was added to your SimpleModule account. It signs you in without a password.</p>
<p>If you did not do this, <a href="{{.Link}}">delete it</a> and change your password at once.</p>`,
	}
	mailPasskeyRemoved = email.Template{
		Subject: "A passkey was removed from your account",
		Text: `The passkey named "{{.Old}}" was removed from your SimpleModule account{{if .ByAdmin}} by an administrator{{end}}. It no longer signs you in.

Your passkeys: {{.Link}}
`,
		HTML: `<p>The passkey named <strong>{{.Old}}</strong> was removed from your SimpleModule account{{if .ByAdmin}} by an administrator{{end}}. It no longer signs you in.</p>
<p><a href="{{.Link}}">Your passkeys</a></p>`,
	}
)

// passkeyNotice tells the user (at a confirmed address) that a passkey was
// added to or removed from their account: a passkey signs in on its own,
// so one the owner did not add is as serious as a changed password.
func (m *Module) passkeyNotice(ctx context.Context, tx *sql.Tx, ev any) error {
	link := m.d.BaseURL + "/account/manage/passkeys"
	switch e := ev.(type) {
	case contracts.PasskeyAdded:
		return m.toConfirmed(ctx, tx, e.UserID, mailPasskeyAdded, data{New: e.Name, Link: link})
	case contracts.PasskeyRemoved:
		return m.toConfirmed(ctx, tx, e.UserID, mailPasskeyRemoved, data{Old: e.Name, ByAdmin: e.ActorID != e.UserID, Link: link})
	}
	return nil
}
