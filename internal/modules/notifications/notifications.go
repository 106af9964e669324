// Package notifications is the Notifications module: it listens to the
// Users module's events (through users/contracts only) and owns every
// security notice — email, password or phone changed, re-verification
// forced, someone signing up with a taken address — sent by email through
// the outbox, in the change's transaction.
package notifications

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/events"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
)

// Deps is what the module needs from the composition root.
type Deps struct {
	Users   contracts.Contacts
	Outbox  *outbox.Outbox
	BaseURL string
	Log     *slog.Logger
}

// Module sends security notifications.
type Module struct{ d Deps }

// New builds the module; call Subscribe to start listening.
func New(d Deps) *Module { return &Module{d: d} }

// Subscribe registers the module on bus: notices are queued inside the
// transaction of the change (they commit or roll back with it), and the
// outbox worker is woken once it has committed.
func (m *Module) Subscribe(bus *events.Bus) {
	bus.SubscribeTx(m.handle)
	bus.Subscribe(func(context.Context, any) { m.d.Outbox.Kick() })
}

type data struct {
	Old, New, Link string
	Verified       bool
	ByAdmin        bool // the change was made by an administrator
}

var (
	mailPhoneChanged = email.Template{
		Subject: "{{if .Old}}Your phone number was changed{{else}}A phone number was added to your account{{end}}",
		Text: `{{if .Old}}The phone number on your SimpleModule account was changed from {{.Old}} to {{.New}}{{else}}The phone number {{.New}} was added to your SimpleModule account{{end}}{{if .Verified}} and verified{{end}}.

If you did not do this, change your password at once: {{.Link}}
`,
		HTML: `<p>{{if .Old}}The phone number on your SimpleModule account was changed from <strong>{{.Old}}</strong> to <strong>{{.New}}</strong>{{else}}The phone number <strong>{{.New}}</strong> was added to your SimpleModule account{{end}}{{if .Verified}} and verified{{end}}.</p>
<p>If you did not do this, <a href="{{.Link}}">change your password</a> at once.</p>`,
	}
	mailPhoneRemoved = email.Template{
		Subject: "Your phone number was removed",
		Text: `The phone number {{.Old}} was removed from your SimpleModule account.

If you did not do this, change your password at once: {{.Link}}
`,
		HTML: `<p>The phone number <strong>{{.Old}}</strong> was removed from your SimpleModule account.</p>
<p>If you did not do this, <a href="{{.Link}}">change your password</a> at once.</p>`,
	}
	mailPhoneReverify = email.Template{
		Subject: "Please verify your phone number again",
		Text: `An administrator has asked you to verify the phone number {{.Old}} of your SimpleModule account again.

Sign in and request a new code here:

{{.Link}}

Until then your phone number is shown as unverified.
`,
		HTML: `<p>An administrator has asked you to verify the phone number <strong>{{.Old}}</strong> of your SimpleModule account again.</p>
<p><a href="{{.Link}}">Request a new code</a>. Until then your phone number is shown as unverified.</p>`,
	}
	mailEmailChanged = email.Template{
		Subject: "Your email address was changed",
		Text: `The email address of your SimpleModule account was changed from {{.Old}} to {{.New}}.

If you did not do this, reset your password at once and contact support.
`,
		HTML: `<p>The email address of your SimpleModule account was changed from <strong>{{.Old}}</strong> to <strong>{{.New}}</strong>.</p>
<p>If you did not do this, reset your password at once and contact support.</p>`,
	}
	mailPasswordChanged = email.Template{
		Subject: "Your password was changed",
		Text: `The password of your SimpleModule account was changed, and other devices were signed out.

If you did not do this, reset your password at once: {{.Link}}
`,
		HTML: `<p>The password of your SimpleModule account was changed, and other devices were signed out.</p>
<p>If you did not do this, <a href="{{.Link}}">reset your password</a> at once.</p>`,
	}
	mailRegistrationAttempted = email.Template{
		Subject: "Someone tried to sign up with your email address",
		Text: `Someone (perhaps you) tried to create a SimpleModule account with this email address, which already has one. No new account was created, and your account was not changed.

If it was you, sign in: {{.Link}}/account/login
Forgot your password? Reset it: {{.Link}}/account/forgot-password

If it was not you, ignore this message.
`,
		HTML: `<p>Someone (perhaps you) tried to create a SimpleModule account with this email address, which already has one. No new account was created, and your account was not changed.</p>
<p>If it was you, <a href="{{.Link}}/account/login">sign in</a>. Forgot your password? <a href="{{.Link}}/account/forgot-password">Reset it</a>.</p>
<p>If it was not you, ignore this message.</p>`,
	}
	mailRoleChanged = email.Template{
		Subject: "{{if .Verified}}You are now an administrator{{else}}You are no longer an administrator{{end}}",
		Text: `An administrator {{if .Verified}}gave your SimpleModule account the {{.New}} role{{else}}removed the {{.New}} role from your SimpleModule account{{end}}.

If this is unexpected, contact your administrators. Your account: {{.Link}}
`,
		HTML: `<p>An administrator {{if .Verified}}gave your SimpleModule account the <strong>{{.New}}</strong> role{{else}}removed the <strong>{{.New}}</strong> role from your SimpleModule account{{end}}.</p>
<p>If this is unexpected, contact your administrators. <a href="{{.Link}}">Your account</a></p>`,
	}
	mailSignedOutEverywhere = email.Template{
		Subject: "You were signed out everywhere",
		Text: `An administrator signed your SimpleModule account out on every device. Sign in again to go on.

If you did not expect this, change your password: {{.Link}}
`,
		HTML: `<p>An administrator signed your SimpleModule account out on every device. Sign in again to go on.</p>
<p>If you did not expect this, <a href="{{.Link}}">change your password</a>.</p>`,
	}
	mailAccountDeleted = email.Template{
		Subject: "Your account was deleted",
		Text: `Your SimpleModule account {{.Old}} was deleted{{if .ByAdmin}} by an administrator{{end}}. Every device was signed out, and your profile, email address, phone number and the messages we kept for you are gone.

We kept the security log of the account, with your email address and phone number removed and the account named by a pseudonym, to investigate abuse of the service.

If you did not ask for this, contact support.
`,
		HTML: `<p>Your SimpleModule account <strong>{{.Old}}</strong> was deleted{{if .ByAdmin}} by an administrator{{end}}. Every device was signed out, and your profile, email address, phone number and the messages we kept for you are gone.</p>
<p>We kept the security log of the account, with your email address and phone number removed and the account named by a pseudonym, to investigate abuse of the service.</p>
<p>If you did not ask for this, contact support.</p>`,
	}
	mailTwoFactorOn = email.Template{
		Subject: "{{if .Verified}}Two-factor sign-in is on{{else}}A two-factor method was added{{end}}",
		Text: `{{if .Verified}}Two-factor sign-in was turned on for your SimpleModule account{{else}}A two-factor sign-in method was added to your SimpleModule account{{end}}: {{.New}}. Signing in now needs your password and a code.

If you did not do this, reset your password at once: {{.Link}}
`,
		HTML: `<p>{{if .Verified}}Two-factor sign-in was turned on for your SimpleModule account{{else}}A two-factor sign-in method was added to your SimpleModule account{{end}}: <strong>{{.New}}</strong>. Signing in now needs your password and a code.</p>
<p>If you did not do this, <a href="{{.Link}}">reset your password</a> at once.</p>`,
	}
	mailTwoFactorOff = email.Template{
		Subject: "Two-factor sign-in is off",
		Text: `Two-factor sign-in was turned off for your SimpleModule account{{if .ByAdmin}} by an administrator{{end}}. Your password alone now signs you in.

{{if .ByAdmin}}Turn it on again here: {{.Link}}{{else}}If you did not do this, reset your password at once and turn it on again: {{.Link}}{{end}}
`,
		HTML: `<p>Two-factor sign-in was turned off for your SimpleModule account{{if .ByAdmin}} by an administrator{{end}}. Your password alone now signs you in.</p>
<p>{{if .ByAdmin}}<a href="{{.Link}}">Turn it on again</a>.{{else}}If you did not do this, reset your password at once and <a href="{{.Link}}">turn it on again</a>.{{end}}</p>`,
	}
	mailRecoveryCodesReplaced = email.Template{
		Subject: "Your two-factor recovery codes were replaced",
		Text: `New two-factor recovery codes were made for your SimpleModule account; the old ones no longer work.

If you did not do this, reset your password at once: {{.Link}}
`,
		HTML: `<p>New two-factor recovery codes were made for your SimpleModule account; the old ones no longer work.</p>
<p>If you did not do this, <a href="{{.Link}}">reset your password</a> at once.</p>`,
	}
	mailRecoveryCodeUsed = email.Template{
		Subject: "A two-factor recovery code was used",
		Text: `A recovery code was just used to sign in to your SimpleModule account. {{.New}} recovery codes are left.

If this was not you, reset your password at once and make new recovery codes: {{.Link}}
`,
		HTML: `<p>A recovery code was just used to sign in to your SimpleModule account. <strong>{{.New}}</strong> recovery codes are left.</p>
<p>If this was not you, <a href="{{.Link}}">reset your password</a> at once and make new recovery codes.</p>`,
	}
	mailEmailReverify = email.Template{
		Subject: "Please verify your email address again",
		Text: `An administrator has asked you to verify the email address of your SimpleModule account again.

Sign in and send yourself a new verification link here:

{{.Link}}

Until then your email address is shown as unverified.
`,
		HTML: `<p>An administrator has asked you to verify the email address of your SimpleModule account again.</p>
<p><a href="{{.Link}}">Send a new verification link</a>. Until then your email address is shown as unverified.</p>`,
	}
)

// methodName names a two-factor method in a notice.
func methodName(method string) string {
	if method == contracts.MethodSMS {
		return "codes by text message"
	}
	return "an authenticator app"
}

// mask hides all but the ends of a number; "" stays "".
func mask(number string) string {
	if number == "" {
		return ""
	}
	return phone.Mask(number)
}

func (m *Module) handle(ctx context.Context, tx *sql.Tx, ev any) error {
	password := m.d.BaseURL + "/account/manage/change-password"
	switch e := ev.(type) {
	case contracts.PhoneNumberChanged:
		return m.toConfirmed(ctx, tx, e.UserID, mailPhoneChanged, data{Old: mask(e.OldNumber), New: mask(e.NewNumber), Verified: e.Verified, Link: password})
	case contracts.PhoneNumberRemoved:
		return m.toConfirmed(ctx, tx, e.UserID, mailPhoneRemoved, data{Old: mask(e.OldNumber), Link: password})
	case contracts.PhoneReverificationForced:
		return m.toConfirmed(ctx, tx, e.UserID, mailPhoneReverify, data{Old: mask(e.PhoneNumber), Link: m.d.BaseURL + "/account/manage/phone"})
	case contracts.EmailChanged:
		// Told to the old address: whoever lost it must hear about it.
		return m.send(ctx, tx, e.OldEmail, mailEmailChanged, data{Old: e.OldEmail, New: e.NewEmail})
	case contracts.PasswordChanged:
		return m.toConfirmed(ctx, tx, e.UserID, mailPasswordChanged, data{Link: m.d.BaseURL + "/account/forgot-password"})
	case contracts.RegistrationAttempted:
		// Written even to an unconfirmed address: it is the address the
		// person signing up asked us to write to, as a new account's
		// confirmation link would be, and the person who registered it
		// first may not be its owner — the owner can take it back with a
		// reset link.
		return m.send(ctx, tx, e.Email, mailRegistrationAttempted, data{Link: m.d.BaseURL})
	case contracts.AccountDeleted:
		// The account is gone, so its address comes with the event; only a
		// confirmed one is written to, as for every notice.
		if !e.EmailConfirmed {
			return nil
		}
		return m.send(ctx, tx, e.Email, mailAccountDeleted, data{Old: e.Email, ByAdmin: e.ActorID != e.UserID})
	case contracts.RoleChanged:
		if e.ActorID == "" || e.ActorID == e.UserID {
			return nil // the command line, or never oneself: nobody to tell but the operator
		}
		return m.toConfirmed(ctx, tx, e.UserID, mailRoleChanged, data{New: e.Role, Verified: e.Granted, Link: m.d.BaseURL + "/account/manage"})
	case contracts.SessionsRevoked:
		if e.ActorID == "" || e.ActorID == e.UserID {
			return nil // the user's own action on their own devices
		}
		return m.toConfirmed(ctx, tx, e.UserID, mailSignedOutEverywhere, data{Link: m.d.BaseURL + "/account/forgot-password"})
	case contracts.TwoFactorEnabled:
		return m.toConfirmed(ctx, tx, e.UserID, mailTwoFactorOn, data{New: methodName(e.Method), Verified: e.First, Link: m.d.BaseURL + "/account/forgot-password"})
	case contracts.TwoFactorDisabled:
		return m.toConfirmed(ctx, tx, e.UserID, mailTwoFactorOff, data{ByAdmin: e.ActorID != e.UserID, Link: m.d.BaseURL + "/account/manage/two-factor"})
	case contracts.RecoveryCodesReplaced:
		return m.toConfirmed(ctx, tx, e.UserID, mailRecoveryCodesReplaced, data{Link: m.d.BaseURL + "/account/forgot-password"})
	case contracts.RecoveryCodeUsed:
		return m.toConfirmed(ctx, tx, e.UserID, mailRecoveryCodeUsed, data{New: strconv.Itoa(e.Left), Link: m.d.BaseURL + "/account/forgot-password"})
	case contracts.PasskeyAdded:
		return m.toConfirmed(ctx, tx, e.UserID, mailPasskeyAdded, data{New: e.Name, Link: m.d.BaseURL + "/account/manage/passkeys"})
	case contracts.PasskeyRemoved:
		return m.toConfirmed(ctx, tx, e.UserID, mailPasskeyRemoved, data{Old: e.Name, ByAdmin: e.ActorID != e.UserID, Link: m.d.BaseURL + "/account/manage/passkeys"})
	case contracts.EmailReverificationForced:
		// The address was confirmed until a moment ago: it is the right
		// place to say what happened and where to go next.
		return m.send(ctx, tx, e.Email, mailEmailReverify, data{Link: m.d.BaseURL + "/account/manage/email"})
	}
	return nil
}

// toConfirmed mails the user only when their address is confirmed: an
// unconfirmed address may not be theirs.
func (m *Module) toConfirmed(ctx context.Context, tx *sql.Tx, userID string, t email.Template, d data) error {
	addr, confirmed, err := m.d.Users.ContactTx(ctx, tx, userID)
	if err != nil {
		return fmt.Errorf("notification: look up user: %w", err)
	}
	if !confirmed {
		return nil
	}
	return m.send(ctx, tx, addr, t, d)
}

func (m *Module) send(ctx context.Context, tx *sql.Tx, to string, t email.Template, d data) error {
	msg, err := t.Render(to, d)
	if err != nil {
		return fmt.Errorf("notification: render %q: %w", t.Subject, err)
	}
	_, err = m.d.Outbox.EnqueueEmail(ctx, tx, msg, outbox.Options{Ref: "notify:" + to})
	return err
}
