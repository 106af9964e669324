// Package users is the Users module: accounts, sign-in, profile, and
// verified email and phone number. Other modules use only its contracts.
package users

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/handlers"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/password"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/events"
	"github.com/simplemodule-go/simplemodule/internal/platform/metrics"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
	"github.com/simplemodule-go/simplemodule/internal/platform/ratelimit"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

//go:embed templates
var templateFiles embed.FS

// Deps is what the module needs from the composition root.
type Deps struct {
	DB        *database.DB
	Kit       *web.Kit
	Outbox    *outbox.Outbox // delivers SMS and email written in the same transaction as their cause
	Bus       *events.Bus
	Clock     clock.Clock
	Config    config.Config
	Log       *slog.Logger
	Secret    []byte          // app secret; keys for codes are derived from it
	Passwords password.Params // argon2id cost; zero means password.Default
	Metrics   metrics.Users   // counts sign-ins and phone codes; nil counts nothing

	// PasswordHashed, when set, is called for every argon2id hash or
	// verification (tests count the work a request costs).
	PasswordHashed func()
}

// Module is the Users module.
type Module struct {
	h        *handlers.Handler
	store    *store.Store
	accounts *account.Service
}

// Migrations returns the module's embedded schema migrations.
func Migrations() database.Migrations {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return database.Migrations{Module: "users", FS: sub}
}

// New builds the module.
func New(d Deps) (*Module, error) {
	if d.Passwords == (password.Params{}) {
		d.Passwords = password.Default
	}
	phones, err := phone.NewParser(d.Config.PhoneDefaultRegion, d.Config.SMSAllowedCountries)
	if err != nil {
		return nil, fmt.Errorf("invalid setting SIMPLEMODULE_PHONE_DEFAULT_REGION or SIMPLEMODULE_SMS_ALLOWED_COUNTRIES: %w", err)
	}
	st := &store.Store{DB: d.DB, Clock: d.Clock}
	sessions := &session.Store{Clock: d.Clock, Secure: d.Config.Production()}
	c := d.Config
	rp := relyingParty(c, d.Log)
	svc := account.New(account.Deps{
		RelyingParty: rp,
		Store:        st, Sessions: sessions, Outbox: d.Outbox, Bus: d.Bus,
		Limits: &ratelimit.Limiter{DB: d.DB, Clock: d.Clock}, Clock: d.Clock, Log: d.Log, Phones: phones,
		Passwords: d.Passwords, CodeKey: secrets.Derive(d.Secret, "phone verification codes"), BaseURL: c.BaseURL, Metrics: d.Metrics,
		TwoFactorKey:   secrets.Derive(d.Secret, "two-factor sign-in"),
		PasswordHashed: d.PasswordHashed,
		Policy: account.Policy{
			RequireConfirmedEmail: c.RequireConfirmedEmail, RegistrationsPerIP: c.RegistrationsPerIP, SignInFailuresPerIP: c.SignInFailuresPerIP,
			PasswordResetsPerIP: c.PasswordResetsPerIP, EmailTokenTTL: c.EmailTokenTTL, EmailResendCooldown: c.EmailResendCooldown,
			PhoneCodeTTL: c.PhoneCodeTTL, PhoneResendCooldown: c.PhoneResendCooldown, PhoneMaxAttempts: c.PhoneMaxAttempts,
			PhoneSendsPerNumber: c.PhoneSendsPerNumber, PhoneSendsPerIP: c.PhoneSendsPerIP,
			PhoneLockout: account.Lockout{Failures: c.PhoneLockout.Failures, Window: c.PhoneLockout.Window, Duration: c.PhoneLockout.Duration},
		},
	})
	h := &handlers.Handler{Accounts: svc, Kit: d.Kit, Sessions: sessions, Log: d.Log}
	return &Module{h: h, store: st, accounts: svc}, nil
}

// Authenticate is middleware that puts the signed-in user in the request
// context (contracts.UserFrom) for every module.
func (m *Module) Authenticate(next http.Handler) http.Handler { return m.h.Authenticate(next) }

func fn(f http.HandlerFunc) http.Handler { return f }

// Registry lists the module's pages and routes; validate-pages checks they agree.
func (m *Module) Registry() web.Registry {
	h := m.h
	tfs, _ := fs.Sub(templateFiles, "templates")
	signedIn := h.RequireUser
	reg := web.Registry{
		Module: "users",
		FS:     tfs,
		Pages: []web.Page{
			{Name: "users/account/register", Template: "pages/account/register.html"},
			{Name: "users/account/login", Template: "pages/account/login.html"},
			{Name: "users/account/login-unconfirmed", Template: "pages/account/login-unconfirmed.html"},
			{Name: "users/account/forgot-password", Template: "pages/account/forgot-password.html"},
			{Name: "users/account/reset-password", Template: "pages/account/reset-password.html"},
			{Name: "users/account/confirm-email", Template: "pages/account/confirm-email.html"},
			{Name: "users/account/invitation", Template: "pages/account/invitation.html"},
			{Name: "users/account/resend-email-confirmation", Template: "pages/account/resend-email-confirmation.html"},
			{Name: "users/account/manage/index", Template: "pages/account/manage/index.html"},
			{Name: "users/account/manage/change-password", Template: "pages/account/manage/change-password.html"},
			{Name: "users/account/manage/email", Template: "pages/account/manage/email.html"},
			{Name: "users/account/manage/phone", Template: "pages/account/manage/phone.html"},
			{Name: "users/account/manage/sessions", Template: "pages/account/manage/sessions.html"},
			{Name: "users/account/manage/personal-data", Template: "pages/account/manage/personal-data.html"},
			{Name: "users/account/deleted", Template: "pages/account/deleted.html"},
			{Name: "users/account/manage/two-factor", Template: "pages/account/manage/two-factor.html"},
			{Name: "users/account/manage/two-factor-authenticator", Template: "pages/account/manage/two-factor-authenticator.html"},
			{Name: "users/account/manage/recovery-codes", Template: "pages/account/manage/recovery-codes.html"},
			{Name: "users/account/login-two-factor", Template: "pages/account/login-two-factor.html"},
			{Name: "users/account/login-recovery-code", Template: "pages/account/login-recovery-code.html"},
		},
		Routes: []web.Route{
			{Pattern: "GET /{$}", Handler: fn(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/account/manage", http.StatusSeeOther)
			})},
			{Pattern: "GET /account/register", Pages: []string{"users/account/register"}, Handler: fn(h.RegisterPage)},
			{Pattern: "POST /account/register", Pages: []string{"users/account/register"}, Handler: fn(h.Register)},
			{Pattern: "GET /account/login", Pages: []string{"users/account/login"}, Handler: fn(h.LoginPage)},
			{Pattern: "POST /account/login", Pages: []string{"users/account/login", "users/account/login-unconfirmed"}, Handler: fn(h.Login)},
			{Pattern: "POST /account/logout", Handler: fn(h.Logout), Back: "/"},
			{Pattern: "GET /account/forgot-password", Pages: []string{"users/account/forgot-password"}, Handler: fn(h.ForgotPasswordPage)},
			{Pattern: "POST /account/forgot-password", Pages: []string{"users/account/forgot-password"}, Handler: fn(h.ForgotPassword)},
			{Pattern: "GET /account/reset-password", Pages: []string{"users/account/reset-password"}, Handler: fn(h.ResetPasswordPage)},
			{Pattern: "POST /account/reset-password", Pages: []string{"users/account/reset-password"}, Handler: fn(h.ResetPassword)},
			{Pattern: "GET /account/confirm-email", Pages: []string{"users/account/confirm-email"}, Handler: fn(h.ConfirmEmail)},
			{Pattern: "GET /account/confirm-email-change", Pages: []string{"users/account/confirm-email"}, Handler: fn(h.ConfirmEmailChange)},
			{Pattern: "GET /account/invitation", Pages: []string{"users/account/invitation"}, Handler: fn(h.InvitationPage)},
			{Pattern: "POST /account/invitation", Pages: []string{"users/account/invitation"}, Handler: fn(h.AcceptInvitation)},
			{Pattern: "GET /account/resend-email-confirmation", Pages: []string{"users/account/resend-email-confirmation"}, Handler: fn(h.ResendConfirmationPage)},
			{Pattern: "POST /account/resend-email-confirmation", Pages: []string{"users/account/resend-email-confirmation"}, Handler: fn(h.ResendConfirmation)},
			{Pattern: "GET /account/manage", Pages: []string{"users/account/manage/index"}, Handler: signedIn(h.ManagePage)},
			{Pattern: "POST /account/manage", Pages: []string{"users/account/manage/index"}, Handler: signedIn(h.Manage)},
			{Pattern: "GET /account/manage/change-password", Pages: []string{"users/account/manage/change-password"}, Handler: signedIn(h.ChangePasswordPage)},
			{Pattern: "POST /account/manage/change-password", Pages: []string{"users/account/manage/change-password"}, Handler: signedIn(h.ChangePassword)},
			{Pattern: "GET /account/manage/email", Pages: []string{"users/account/manage/email"}, Handler: signedIn(h.ManageEmailPage)},
			{Pattern: "POST /account/manage/email", Pages: []string{"users/account/manage/email"}, Handler: signedIn(h.ManageEmail)},
			// Phone verification.
			{Pattern: "GET /account/manage/phone", Pages: []string{"users/account/manage/phone"}, Handler: signedIn(h.PhonePage)},
			{Pattern: "POST /account/manage/send-phone-verification-code", Pages: []string{"users/account/manage/phone"}, Handler: signedIn(h.SendPhoneCode)},
			{Pattern: "POST /account/manage/confirm-phone-number", Pages: []string{"users/account/manage/phone"}, Handler: signedIn(h.ConfirmPhone)},
			{Pattern: "POST /account/manage/remove-phone-number", Pages: []string{"users/account/manage/phone"}, Handler: signedIn(h.RemovePhone)},
			// Sessions: where the user is signed in.
			{Pattern: "GET /account/manage/sessions", Pages: []string{"users/account/manage/sessions"}, Handler: signedIn(h.SessionsPage)},
			{Pattern: "POST /account/manage/sessions/{id}/revoke", Pages: []string{"users/account/manage/sessions"}, Handler: signedIn(h.RevokeSession)},
			{Pattern: "POST /account/manage/sessions/revoke-others", Pages: []string{"users/account/manage/sessions"}, Handler: signedIn(h.RevokeOtherSessions)},
			// Personal data: download and account deletion.
			{Pattern: "GET /account/manage/personal-data", Pages: []string{"users/account/manage/personal-data"}, Handler: signedIn(h.PersonalDataPage)},
			{Pattern: "POST /account/manage/personal-data/download", Pages: []string{"users/account/manage/personal-data"}, Handler: signedIn(h.DownloadPersonalData)},
			{Pattern: "POST /account/manage/delete-account", Pages: []string{"users/account/manage/personal-data"}, Handler: signedIn(h.DeleteAccount)},
			{Pattern: "GET /account/deleted", Pages: []string{"users/account/deleted"}, Handler: fn(h.AccountDeletedPage)},
			// Two-factor sign-in: the second step, then managing it.
			{Pattern: "GET /account/login/two-factor", Pages: []string{"users/account/login-two-factor", "users/account/login"}, Handler: fn(h.SecondStepPage)},
			{Pattern: "POST /account/login/two-factor", Pages: []string{"users/account/login-two-factor", "users/account/login"}, Handler: fn(h.SecondStep)},
			{Pattern: "POST /account/login/two-factor/send-sms", Pages: []string{"users/account/login-two-factor", "users/account/login"}, Handler: fn(h.SendSignInCode)},
			{Pattern: "GET /account/login/recovery-code", Pages: []string{"users/account/login-recovery-code", "users/account/login"}, Handler: fn(h.RecoveryCodePage)},
			{Pattern: "POST /account/login/recovery-code", Pages: []string{"users/account/login-recovery-code", "users/account/login"}, Handler: fn(h.RecoveryCode)},
			{Pattern: "GET /account/manage/two-factor", Pages: []string{"users/account/manage/two-factor"}, Handler: signedIn(h.TwoFactorPage)},
			{Pattern: "GET /account/manage/two-factor/authenticator", Pages: []string{"users/account/manage/two-factor-authenticator"}, Handler: signedIn(h.AuthenticatorPage)},
			{Pattern: "POST /account/manage/two-factor/authenticator", Pages: []string{"users/account/manage/two-factor-authenticator", "users/account/manage/recovery-codes"}, Handler: signedIn(h.EnableAuthenticator)},
			{Pattern: "POST /account/manage/two-factor/sms", Pages: []string{"users/account/manage/two-factor", "users/account/manage/recovery-codes"}, Handler: signedIn(h.EnableSMS)},
			{Pattern: "POST /account/manage/two-factor/recovery-codes", Pages: []string{"users/account/manage/two-factor", "users/account/manage/recovery-codes"}, Handler: signedIn(h.RegenerateRecoveryCodes)},
			{Pattern: "POST /account/manage/two-factor/disable", Pages: []string{"users/account/manage/two-factor"}, Handler: signedIn(h.DisableTwoFactor)},
			{Pattern: "POST /account/manage/two-factor/forget-browser", Pages: []string{"users/account/manage/two-factor"}, Handler: signedIn(h.ForgetBrowsers)},
		},
	}
	addPasskeys(&reg, h)
	return reg
}

// ErrDuplicateEmail is returned by CreateUser when the email is taken.
var ErrDuplicateEmail = account.ErrDuplicateEmail

// CreateUser creates a user whose email is already confirmed, optionally in
// the Admin role (the `simplemodule user create` command).
func (m *Module) CreateUser(ctx context.Context, addr, pw string, admin bool) (contracts.User, error) {
	var roles []string
	if admin {
		roles = []string{contracts.RoleAdmin}
	}
	a, err := m.accounts.CreateUser(ctx, strings.TrimSpace(addr), pw, roles)
	return a.User, err
}

// PasswordParams are argon2id's cost parameters.
type PasswordParams = password.Params

// TestPasswordParams are cheap argon2id parameters, for tests only.
func TestPasswordParams() PasswordParams { return password.Cheap }

// ErrNotFound is returned by SetAdmin when no account has the email.
var ErrNotFound = account.ErrNotFound

// ErrRoleUnchanged is returned by SetAdmin when the account already is (or,
// revoking, is not) an administrator.
var ErrRoleUnchanged = account.ErrRoleUnchanged

// SetAdmin grants (grant) or revokes the Admin role of the account with
// email, on behalf of the command line (`simplemodule user set-admin`).
// Errors: ErrNotFound, ErrRoleUnchanged, contracts.ErrLastAdmin.
func (m *Module) SetAdmin(ctx context.Context, email string, grant bool) error {
	a, err := m.store.AccountByEmail(ctx, strings.TrimSpace(email))
	if err != nil {
		return err
	}
	return m.accounts.SetAdmin(ctx, "", a.ID, grant, account.Client{})
}
