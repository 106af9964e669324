// Package app composes the platform and the modules into one server. The
// command line and the integration tests both build the application here,
// so tests exercise the same wiring as production.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	emailsmtp "github.com/simplemodule-go/simplemodule/internal/messaging/email/smtp"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms/twilio"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms/webhook"
	"github.com/simplemodule-go/simplemodule/internal/modules/admin"
	"github.com/simplemodule-go/simplemodule/internal/modules/dev"
	"github.com/simplemodule-go/simplemodule/internal/modules/notifications"
	"github.com/simplemodule-go/simplemodule/internal/modules/users"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/events"
	"github.com/simplemodule-go/simplemodule/internal/platform/metrics"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// Options replace production parts in tests. Zero values mean production.
type Options struct {
	Clock     clock.Clock
	SMS       sms.Sender
	Email     email.Sender
	Passwords users.PasswordParams
	Outbox    outbox.Config // retry tuning; zero values mean the defaults

	// PasswordHashed is called for every argon2id hash or verification, so
	// a test can count what requests cost; nil in production.
	PasswordHashed func()
}

// App is the composed application.
type App struct {
	DB       *database.DB
	Bus      *events.Bus
	Outbox   *outbox.Outbox // Run it (serve does) to deliver messages
	Users    *users.Module
	Handler  http.Handler
	Metrics  *metrics.Metrics // serve exposes Metrics.Handler on SIMPLEMODULE_METRICS_ADDR
	registry []web.Registry
}

// Migrations lists every migration set, platform first.
func Migrations() []database.Migrations {
	return []database.Migrations{database.PlatformMigrations(), outbox.Migrations(), users.Migrations()}
}

// New opens the database, migrates it and builds every module.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*App, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	a, err := build(ctx, db, cfg, log, opt)
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func build(ctx context.Context, db *database.DB, cfg config.Config, log *slog.Logger, opt Options) (*App, error) {
	if err := db.Migrate(ctx, Migrations()...); err != nil {
		return nil, err
	}
	secret, err := db.AppSecret(ctx, cfg.Secret)
	if err != nil {
		return nil, err
	}
	if opt.Clock == nil {
		opt.Clock = clock.System{}
	}
	if opt.SMS == nil {
		opt.SMS, err = SMSSender(cfg, log)
		if err != nil {
			return nil, err
		}
	}
	if opt.Email == nil {
		opt.Email, err = EmailSender(cfg, log)
		if err != nil {
			return nil, err
		}
	}
	m := metrics.New(log)
	if opt.Outbox.Observer == nil {
		opt.Outbox.Observer = m
	}
	if opt.Outbox.MaxAttempts == 0 {
		opt.Outbox.MaxAttempts = cfg.OutboxMaxAttempts
	}
	if opt.Outbox.SMSConcurrency == 0 {
		opt.Outbox.SMSConcurrency = cfg.OutboxSMSConcurrency
	}
	if opt.Outbox.EmailConcurrency == 0 {
		opt.Outbox.EmailConcurrency = cfg.OutboxEmailConcurrency
	}
	if opt.Outbox.SendTimeout == 0 {
		opt.Outbox.SendTimeout = cfg.OutboxSendTimeout
	}
	// /dev/outbox shows codes in development, where the console senders
	// deliver them at once; production wipes them once sent.
	opt.Outbox.KeepDeliveredBodies = !cfg.Production()
	ob, err := outbox.New(db, opt.Clock, secret, opt.SMS, opt.Email, log, opt.Outbox)
	if err != nil {
		return nil, err
	}
	m.WatchOutbox(ob)
	bus := events.NewBus(log)
	// The Users module supplies the pages; the renderer needs them first, and
	// the module needs the kit, so the kit gets its renderer afterwards.
	kit := web.NewKit(nil, log, opt.Clock, secret, cfg.Production(), cfg.TrustedProxies)
	um, err := users.New(users.Deps{DB: db, Kit: kit, Outbox: ob, Bus: bus, Clock: opt.Clock,
		Config: cfg, Log: log, Secret: secret, Passwords: opt.Passwords, Metrics: m,
		PasswordHashed: opt.PasswordHashed})
	if err != nil {
		return nil, err
	}
	notifications.New(notifications.Deps{Users: um.Contacts(), Outbox: ob, BaseURL: cfg.BaseURL, Log: log}).Subscribe(bus)
	am := admin.New(admin.Deps{Kit: kit, Users: um.Admin(), Log: log, RequireTwoFactor: cfg.RequireTwoFactorForAdmins})
	regs := []web.Registry{web.Platform(), um.Registry(), am.Registry()}
	if !cfg.Production() {
		regs = append(regs, (&dev.Module{Kit: kit, Outbox: ob}).Registry())
	}
	kit.Renderer, err = web.NewRenderer(regs...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /static/", web.Static())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.PingContext(r.Context()); err != nil {
			log.ErrorContext(r.Context(), "health check failed", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	web.Mount(mux, func(h http.Handler) http.Handler { return h }, regs...)
	// Unmatched answers what the mux has no route for with styled 404 / 405
	// pages; metrics.Route outside it still sees the pattern the mux set.
	var h http.Handler = metrics.Route(kit.Unmatched(mux, regs...)) // tells m.Middleware the pattern that matched
	h = um.Authenticate(h)
	h = kit.InputGate(h) // before anything reads the database: NUL and invalid UTF-8 never reach a query
	h = web.CrossOrigin(h, func(w http.ResponseWriter, r *http.Request) {
		kit.Error(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Go back to the page and send it again.")
	})
	var hsts web.HSTS // never in development: it would pin localhost to https
	if cfg.Production() {
		hsts = web.HSTS{MaxAge: cfg.HSTSMaxAge, Preload: cfg.HSTSPreload}
	}
	h = web.SecurityHeaders(hsts, h)
	h = web.Logging(log, h, func(w http.ResponseWriter, r *http.Request) {
		kit.Error(w, r, http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment.")
	})
	h = m.Middleware(h)
	return &App{DB: db, Bus: bus, Outbox: ob, Users: um, Handler: h, Metrics: m, registry: regs}, nil
}

// Registries returns every module's page registry.
func (a *App) Registries() []web.Registry { return a.registry }

// Close releases the database.
func (a *App) Close() error {
	// The session writer's last notes go to the database before it closes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(a.Users.Close(ctx), a.DB.Close())
}

// SMSSender builds the configured SMS sender.
func SMSSender(cfg config.Config, log *slog.Logger) (sms.Sender, error) {
	switch cfg.SMSProvider {
	case "console":
		return sms.NewConsole(log), nil
	case "twilio":
		s, err := twilio.New(twilio.Config{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, APIKeySID: cfg.TwilioAPIKeySID,
			APIKeySecret: cfg.TwilioAPIKeySecret, From: cfg.TwilioFrom, MessagingServiceSID: cfg.TwilioMessagingServiceSID, BaseURL: cfg.TwilioBaseURL})
		if err != nil {
			return nil, fmt.Errorf("invalid setting: %w", err)
		}
		return s, nil
	case "webhook":
		s, err := webhook.New(webhook.Config{URL: cfg.SMSWebhookURL, Secret: cfg.SMSWebhookSecret})
		if err != nil {
			return nil, fmt.Errorf("invalid setting: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("invalid setting SIMPLEMODULE_SMS_PROVIDER: unknown provider %q", cfg.SMSProvider)
}

// EmailSender builds the configured email sender.
func EmailSender(cfg config.Config, log *slog.Logger) (email.Sender, error) {
	switch cfg.EmailProvider {
	case "console":
		return email.NewConsole(log), nil
	case "smtp":
		c := emailsmtp.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			TLS: cfg.SMTPTLS, From: cfg.SMTPFrom, FromName: cfg.SMTPFromName}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("invalid setting: %w", err)
		}
		return emailsmtp.New(c)
	}
	return nil, fmt.Errorf("invalid setting SIMPLEMODULE_EMAIL_PROVIDER: unknown provider %q", cfg.EmailProvider)
}
