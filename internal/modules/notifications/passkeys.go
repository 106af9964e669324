package notifications

import "github.com/simplemodule-go/simplemodule/internal/messaging/email"

// A passkey signs in on its own, so one the owner did not add is as
// serious as a changed password.
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
