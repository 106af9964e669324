// Package config reads every setting from a flag or its SIMPLEMODULE_*
// environment variable (the flag wins) and validates them all at start-up,
// so a bad setting stops the process with one line naming it.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the validated set of settings.
type Config struct {
	Addr        string
	MetricsAddr string // empty: no metrics listener
	DatabaseURL string
	BaseURL     string
	Env         string // "development" or "production"
	Secret      string // empty: generated once and stored in the database
	LogLevel    string

	// HSTSMaxAge is the Strict-Transport-Security max-age sent in
	// production (0: no header); HSTSPreload adds includeSubDomains and
	// preload, asking browsers to ship the domain as https-only.
	HSTSMaxAge  time.Duration
	HSTSPreload bool

	SMSProvider   string
	EmailProvider string
	// AllowConsoleInProduction lets the console senders run when Env is production.
	AllowConsoleInProduction bool

	RegistrationsPerIP  int // per hour per client network, 0 = no cap
	SignInFailuresPerIP int // per 15 minutes per client network, 0 = no cap
	PasswordResetsPerIP int // reset-link submissions per 15 minutes per client network, 0 = no cap

	RequireConfirmedEmail bool
	// RequireTwoFactorForAdmins sends administrators without two-factor
	// sign-in to set it up before any admin page.
	RequireTwoFactorForAdmins bool
	EmailTokenTTL             time.Duration
	EmailResendCooldown       time.Duration

	PhoneDefaultRegion  string
	PhoneCodeTTL        time.Duration
	PhoneResendCooldown time.Duration
	PhoneMaxAttempts    int
	PhoneSendsPerNumber int
	PhoneSendsPerIP     int
	PhoneLockout        Lockout
	SMSAllowedCountries []string

	SMSWebhookURL    string
	SMSWebhookSecret string

	TwilioAccountSID          string
	TwilioAuthToken           string
	TwilioAPIKeySID           string
	TwilioAPIKeySecret        string
	TwilioFrom                string
	TwilioMessagingServiceSID string
	TwilioBaseURL             string

	OutboxMaxAttempts      int
	OutboxSMSConcurrency   int           // SMS this instance sends at once
	OutboxEmailConcurrency int           // emails this instance sends at once
	OutboxSendTimeout      time.Duration // one provider call; the outbox leases a message a margin longer

	SMTPHost     string
	SMTPPort     int
	SMTPUsername string
	SMTPPassword string
	SMTPTLS      string
	SMTPFrom     string
	SMTPFromName string

	TrustedProxies []netip.Prefix

	// PasskeyOrigins are origins besides BaseURL's whose passkey ceremonies
	// are accepted (e.g. a second host name under the same RP ID).
	PasskeyOrigins []string
}

// minHSTSPreloadMaxAge is the shortest Strict-Transport-Security max-age
// the browsers' preload lists accept (hstspreload.org asks for 1 year).
const minHSTSPreloadMaxAge = 365 * 24 * time.Hour

// maxHSTSMaxAge bounds the setting: two years is what the preload list
// recommends, and a longer pin only makes a mistake harder to undo.
const maxHSTSMaxAge = 2 * 365 * 24 * time.Hour

// Lockout is "N failures within Window lock for Duration".
type Lockout struct {
	Failures int
	Window   time.Duration
	Duration time.Duration
}

// Production reports whether the production safeguards apply.
func (c Config) Production() bool { return c.Env == "production" }

type setting struct {
	env, def, usage string
	noFlag          bool // secrets: environment only, never on a command line
	isBool          bool // a yes/no flag: --name alone means true
	apply           func(c *Config, v string) error
}

func str(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

func dur(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration like 10m or 60s, got %q", v)
		}
		*dst(c) = d
		return nil
	}
}

func count(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("must be a whole number ≥ 0, got %q", v)
		}
		*dst(c) = n
		return nil
	}
}

func between(lo, hi int, dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be a whole number from %d to %d, got %q", lo, hi, v)
		}
		*dst(c) = n
		return nil
	}
}

func boolean(dst func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("must be true or false, got %q", v)
		}
		*dst(c) = b
		return nil
	}
}

func oneOf(dst func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if v == a {
				*dst(c) = v
				return nil
			}
		}
		return fmt.Errorf("must be one of %s, got %q", strings.Join(allowed, ", "), v)
	}
}

func settings() []setting {
	return []setting{
		{env: "SIMPLEMODULE_ADDR", def: "127.0.0.1:8080", usage: "address to listen on", apply: func(c *Config, v string) error {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
				return fmt.Errorf("must be host:port, got %q", v)
			}
			c.Addr = v
			return nil
		}},
		{env: "SIMPLEMODULE_METRICS_ADDR", def: "127.0.0.1:9090", usage: "address serving GET /metrics for Prometheus (empty or off = no metrics listener)", apply: func(c *Config, v string) error {
			// An empty variable reads as unset (the default), so "off" says it there.
			if v == "" || v == "off" {
				c.MetricsAddr = ""
				return nil
			}
			_, port, err := net.SplitHostPort(v)
			if err != nil || port == "" {
				return fmt.Errorf("must be host:port, empty or off, got %q", v)
			}
			if v == c.Addr && port != "0" {
				return fmt.Errorf("must differ from SIMPLEMODULE_ADDR (%s): metrics are not served on the public listener", c.Addr)
			}
			c.MetricsAddr = v
			return nil
		}},
		{env: "SIMPLEMODULE_DATABASE_URL", def: "sqlite:./data/simplemodule.db", usage: "sqlite:PATH or postgres://…", apply: func(c *Config, v string) error {
			if !strings.HasPrefix(v, "sqlite:") && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") {
				return fmt.Errorf("must start with sqlite: or postgres://")
			}
			c.DatabaseURL = v
			return nil
		}},
		{env: "SIMPLEMODULE_BASE_URL", usage: "public URL used in links sent by email (default http://ADDR)", apply: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("must be an absolute http(s) URL, got %q", v)
			}
			c.BaseURL = strings.TrimSuffix(v, "/")
			return nil
		}},
		{env: "SIMPLEMODULE_ENV", def: "development", usage: "development or production", apply: oneOf(func(c *Config) *string { return &c.Env }, "development", "production")},
		{env: "SIMPLEMODULE_HSTS_MAX_AGE", def: "31536000", usage: "production only: how long browsers keep to https after a visit (Strict-Transport-Security max-age), whole seconds or a duration like 8760h; 0 = no header", apply: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if n, nerr := strconv.ParseInt(v, 10, 64); nerr == nil && n <= int64(maxHSTSMaxAge/time.Second) {
				d, err = time.Duration(n)*time.Second, nil
			}
			if err != nil || d < 0 || d > maxHSTSMaxAge || d%time.Second != 0 {
				return fmt.Errorf("must be whole seconds from 0 to %d (2 years) or a duration like 8760h, got %q", int64(maxHSTSMaxAge/time.Second), v)
			}
			c.HSTSMaxAge = d
			return nil
		}},
		{env: "SIMPLEMODULE_HSTS_PRELOAD", def: "false", usage: "production only: add includeSubDomains and preload to Strict-Transport-Security (needs a max-age of at least 1 year)", isBool: true, apply: boolean(func(c *Config) *bool { return &c.HSTSPreload })},
		{env: "SIMPLEMODULE_SECRET", noFlag: true, usage: "application secret (≥ 32 characters); generated and stored in the database when unset", apply: func(c *Config, v string) error {
			if v != "" && len(v) < 32 {
				return fmt.Errorf("must be at least 32 characters")
			}
			c.Secret = v
			return nil
		}},
		{env: "SIMPLEMODULE_LOG_LEVEL", def: "info", usage: "debug, info, warn or error", apply: oneOf(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},
		{env: "SIMPLEMODULE_SMS_PROVIDER", def: "console", usage: "console, twilio or webhook", apply: oneOf(func(c *Config) *string { return &c.SMSProvider }, "console", "twilio", "webhook")},
		{env: "SIMPLEMODULE_EMAIL_PROVIDER", def: "console", usage: "console or smtp", apply: oneOf(func(c *Config) *string { return &c.EmailProvider }, "console", "smtp")},
		{env: "SIMPLEMODULE_ALLOW_CONSOLE_IN_PRODUCTION", def: "false", usage: "let the console senders run in production", isBool: true, apply: boolean(func(c *Config) *bool { return &c.AllowConsoleInProduction })},
		{env: "SIMPLEMODULE_REGISTRATIONS_PER_IP", def: "20", usage: "accounts created per client IP (IPv6: per /64) per hour (0 = no cap)", apply: count(func(c *Config) *int { return &c.RegistrationsPerIP })},
		{env: "SIMPLEMODULE_SIGNIN_FAILURES_PER_IP", def: "50", usage: "failed sign-ins per client IP (IPv6: per /64) per 15 minutes before sign-in from it pauses (0 = no cap)", apply: count(func(c *Config) *int { return &c.SignInFailuresPerIP })},
		{env: "SIMPLEMODULE_PASSWORD_RESETS_PER_IP", def: "20", usage: "password reset submissions per client IP (IPv6: per /64) per 15 minutes (0 = no cap)", apply: count(func(c *Config) *int { return &c.PasswordResetsPerIP })},
		{env: "SIMPLEMODULE_REQUIRE_TWO_FACTOR_FOR_ADMINS", def: "false", usage: "send administrators without two-factor sign-in to set it up before any admin page", isBool: true, apply: boolean(func(c *Config) *bool { return &c.RequireTwoFactorForAdmins })},
		{env: "SIMPLEMODULE_REQUIRE_CONFIRMED_EMAIL", def: "false", usage: "refuse sign-in until the email address is confirmed", isBool: true, apply: boolean(func(c *Config) *bool { return &c.RequireConfirmedEmail })},
		{env: "SIMPLEMODULE_EMAIL_TOKEN_TTL", def: "24h", usage: "lifetime of email confirmation links", apply: dur(func(c *Config) *time.Duration { return &c.EmailTokenTTL })},
		{env: "SIMPLEMODULE_EMAIL_RESEND_COOLDOWN", def: "60s", usage: "time between two confirmation emails to one account", apply: dur(func(c *Config) *time.Duration { return &c.EmailResendCooldown })},
		{env: "SIMPLEMODULE_PHONE_DEFAULT_REGION", def: "US", usage: "region for phone numbers typed without +", apply: func(c *Config, v string) error {
			if len(v) != 2 || strings.ToUpper(v) != v {
				return fmt.Errorf("must be a two-letter region code like US, got %q", v)
			}
			c.PhoneDefaultRegion = v
			return nil
		}},
		{env: "SIMPLEMODULE_PHONE_CODE_TTL", def: "10m", usage: "lifetime of a phone verification code", apply: dur(func(c *Config) *time.Duration { return &c.PhoneCodeTTL })},
		{env: "SIMPLEMODULE_PHONE_RESEND_COOLDOWN", def: "60s", usage: "time between two codes to one user", apply: dur(func(c *Config) *time.Duration { return &c.PhoneResendCooldown })},
		{env: "SIMPLEMODULE_PHONE_MAX_ATTEMPTS", def: "5", usage: "wrong codes before a code is burned", apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10 {
				return fmt.Errorf("must be a whole number from 1 to 10, got %q", v)
			}
			c.PhoneMaxAttempts = n
			return nil
		}},
		{env: "SIMPLEMODULE_PHONE_SENDS_PER_NUMBER", def: "5", usage: "codes per number per hour (0 = no cap)", apply: count(func(c *Config) *int { return &c.PhoneSendsPerNumber })},
		{env: "SIMPLEMODULE_PHONE_SENDS_PER_IP", def: "20", usage: "codes per client IP per hour (0 = no cap)", apply: count(func(c *Config) *int { return &c.PhoneSendsPerIP })},
		{env: "SIMPLEMODULE_PHONE_LOCKOUT", def: "5/15m/15m", usage: "failures/window/lock duration", apply: func(c *Config, v string) error {
			l, err := ParseLockout(v)
			if err != nil {
				return err
			}
			c.PhoneLockout = l
			return nil
		}},
		{env: "SIMPLEMODULE_SMS_ALLOWED_COUNTRIES", usage: "comma-separated region codes; empty = all", apply: func(c *Config, v string) error {
			c.SMSAllowedCountries = nil
			for _, part := range strings.Split(v, ",") {
				part = strings.ToUpper(strings.TrimSpace(part))
				if part == "" {
					continue
				}
				if len(part) != 2 {
					return fmt.Errorf("must list two-letter region codes like US,CA,GB, got %q", part)
				}
				c.SMSAllowedCountries = append(c.SMSAllowedCountries, part)
			}
			return nil
		}},
		{env: "SIMPLEMODULE_SMS_WEBHOOK_URL", usage: "webhook SMS provider: URL receiving signed JSON {id, to, body, purpose}", apply: str(func(c *Config) *string { return &c.SMSWebhookURL })},
		{env: "SIMPLEMODULE_SMS_WEBHOOK_SECRET", noFlag: true, usage: "webhook SMS provider: HMAC-SHA256 signing secret", apply: str(func(c *Config) *string { return &c.SMSWebhookSecret })},
		{env: "SIMPLEMODULE_TWILIO_ACCOUNT_SID", usage: "Twilio account SID", apply: str(func(c *Config) *string { return &c.TwilioAccountSID })},
		{env: "SIMPLEMODULE_TWILIO_AUTH_TOKEN", noFlag: true, usage: "Twilio auth token", apply: str(func(c *Config) *string { return &c.TwilioAuthToken })},
		{env: "SIMPLEMODULE_TWILIO_API_KEY_SID", usage: "Twilio API key SID (instead of the auth token)", apply: str(func(c *Config) *string { return &c.TwilioAPIKeySID })},
		{env: "SIMPLEMODULE_TWILIO_API_KEY_SECRET", noFlag: true, usage: "Twilio API key secret", apply: str(func(c *Config) *string { return &c.TwilioAPIKeySecret })},
		{env: "SIMPLEMODULE_TWILIO_FROM", usage: "Twilio sender number (E.164)", apply: str(func(c *Config) *string { return &c.TwilioFrom })},
		{env: "SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID", usage: "Twilio messaging service (instead of FROM)", apply: str(func(c *Config) *string { return &c.TwilioMessagingServiceSID })},
		{env: "SIMPLEMODULE_TWILIO_BASE_URL", def: "https://api.twilio.com", usage: "Twilio API base URL", apply: str(func(c *Config) *string { return &c.TwilioBaseURL })},
		{env: "SIMPLEMODULE_OUTBOX_MAX_ATTEMPTS", def: "10", usage: "delivery attempts before a message is marked failed", apply: between(1, 100, func(c *Config) *int { return &c.OutboxMaxAttempts })},
		{env: "SIMPLEMODULE_OUTBOX_SMS_CONCURRENCY", def: "32", usage: "SMS sent at once by this instance", apply: between(1, 1000, func(c *Config) *int { return &c.OutboxSMSConcurrency })},
		{env: "SIMPLEMODULE_OUTBOX_EMAIL_CONCURRENCY", def: "8", usage: "emails sent at once by this instance", apply: between(1, 1000, func(c *Config) *int { return &c.OutboxEmailConcurrency })},
		{env: "SIMPLEMODULE_OUTBOX_SEND_TIMEOUT", def: "10s", usage: "how long one provider call may take before it is cut off and retried", apply: func(c *Config, v string) error {
			// The outbox leases each message for this plus a margin; a
			// timeout in hours would keep a crashed worker's messages
			// waiting as long.
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second || d > 5*time.Minute {
				return fmt.Errorf("must be a duration from 1s to 5m, got %q", v)
			}
			c.OutboxSendTimeout = d
			return nil
		}},
		{env: "SIMPLEMODULE_SMTP_HOST", usage: "SMTP server host", apply: str(func(c *Config) *string { return &c.SMTPHost })},
		{env: "SIMPLEMODULE_SMTP_PORT", def: "587", usage: "SMTP server port", apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("must be a port number, got %q", v)
			}
			c.SMTPPort = n
			return nil
		}},
		{env: "SIMPLEMODULE_SMTP_USERNAME", usage: "SMTP user (empty: no authentication)", apply: str(func(c *Config) *string { return &c.SMTPUsername })},
		{env: "SIMPLEMODULE_SMTP_PASSWORD", noFlag: true, usage: "SMTP password", apply: str(func(c *Config) *string { return &c.SMTPPassword })},
		{env: "SIMPLEMODULE_SMTP_TLS", def: "starttls", usage: "none, starttls or implicit", apply: oneOf(func(c *Config) *string { return &c.SMTPTLS }, "none", "starttls", "implicit")},
		{env: "SIMPLEMODULE_SMTP_FROM", def: "no-reply@localhost", usage: "sender address", apply: str(func(c *Config) *string { return &c.SMTPFrom })},
		{env: "SIMPLEMODULE_SMTP_FROM_NAME", def: "SimpleModule", usage: "sender name", apply: str(func(c *Config) *string { return &c.SMTPFromName })},
		{env: "SIMPLEMODULE_TRUSTED_PROXIES", usage: "CIDRs whose X-Forwarded-For is trusted", apply: func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, part := range strings.Split(v, ",") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				p, err := netip.ParsePrefix(part)
				if err != nil {
					return fmt.Errorf("must list CIDRs like 10.0.0.0/8, got %q", part)
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			return nil
		}},
		{env: "SIMPLEMODULE_PASSKEY_ORIGINS", usage: "extra origins (comma separated) passkey sign-ins may come from, besides the base URL's", apply: passkeyOrigins},
	}
}

// name is how an error names the setting: its variable and, only when it
// has one, its flag — secrets are environment-only, and naming a flag that
// does not exist sends the reader looking for it.
func (s setting) name() string {
	if s.noFlag {
		return s.env + " (environment only)"
	}
	return s.env + " (--" + FlagName(s.env) + ")"
}

// FlagName turns SIMPLEMODULE_PHONE_CODE_TTL into phone-code-ttl.
func FlagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "SIMPLEMODULE_")), "_", "-")
}

// Load parses args (without the command name) and getenv into a Config,
// with a flag for every setting that may be one. It returns the remaining
// arguments. The error names the bad setting.
func Load(name string, args []string, getenv func(string) string, usageOut io.Writer) (Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(usageOut)
	s := NewSettings(getenv)
	s.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	c, err := s.Config()
	if err != nil {
		return Config{}, nil, err
	}
	return c, fs.Args(), nil
}

// Settings are every setting's raw value: its environment variable or
// default, overridden by the flags a command registers with Flags. A
// command takes as flags only the settings it uses (migrate: the database
// URL and log level), while Config still reads and checks every variable.
type Settings struct {
	list   []setting
	values []*string
}

// NewSettings reads every setting's variable through getenv; an empty
// variable means the default.
func NewSettings(getenv func(string) string) *Settings {
	s := &Settings{list: settings()}
	s.values = make([]*string, len(s.list))
	for i, st := range s.list {
		v := getenv(st.env)
		if v == "" {
			v = st.def
		}
		s.values[i] = &v
	}
	return s
}

// Flags registers on fs the flags of the settings named by their variables
// in envs, or of every setting that may be a flag when envs is empty.
// Yes/no settings are boolean flags (--hsts-preload alone means true).
// Secrets never get a flag; naming an unknown setting panics (a
// programming error).
func (s *Settings) Flags(fs *flag.FlagSet, envs ...string) {
	for _, env := range envs {
		if !slices.ContainsFunc(s.list, func(st setting) bool { return st.env == env && !st.noFlag }) {
			panic("config: no flag for " + env)
		}
	}
	for i, st := range s.list {
		if st.noFlag || (len(envs) > 0 && !slices.Contains(envs, st.env)) {
			continue
		}
		usage := st.usage + " (" + st.env + ")"
		if st.isBool {
			fs.Var(boolFlag{s.values[i]}, FlagName(st.env), usage)
			continue
		}
		fs.StringVar(s.values[i], FlagName(st.env), *s.values[i], usage)
	}
}

// boolFlag is a yes/no setting as a flag: given alone it means true, and
// --name=false turns it off; the value is checked with the others in Config.
type boolFlag struct{ v *string }

func (b boolFlag) String() string {
	if b.v == nil {
		return ""
	}
	return *b.v
}

func (b boolFlag) Set(v string) error {
	if _, err := strconv.ParseBool(v); err != nil {
		return errors.New("must be true or false")
	}
	*b.v = v
	return nil
}

// IsBoolFlag tells the flag package the value may be left out.
func (b boolFlag) IsBoolFlag() bool { return true }

// Config checks every setting and returns them; the error is one line
// naming the bad setting.
func (s *Settings) Config() (Config, error) {
	var c Config
	for i, st := range s.list {
		if err := st.apply(&c, *s.values[i]); err != nil {
			return Config{}, fmt.Errorf("invalid setting %s: %w", st.name(), err)
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL(c.Addr)
	}
	if c.Production() && !c.AllowConsoleInProduction {
		if c.SMSProvider == "console" {
			return Config{}, errors.New("invalid setting SIMPLEMODULE_SMS_PROVIDER: the console sender is refused in production (set SIMPLEMODULE_ALLOW_CONSOLE_IN_PRODUCTION=true to allow it)")
		}
		if c.EmailProvider == "console" {
			return Config{}, errors.New("invalid setting SIMPLEMODULE_EMAIL_PROVIDER: the console sender is refused in production (set SIMPLEMODULE_ALLOW_CONSOLE_IN_PRODUCTION=true to allow it)")
		}
	}
	if c.Production() && !strings.HasPrefix(c.BaseURL, "https://") {
		return Config{}, errors.New("invalid setting SIMPLEMODULE_BASE_URL: production needs an https:// base URL (cookies are Secure)")
	}
	if c.HSTSPreload && c.HSTSMaxAge < minHSTSPreloadMaxAge {
		// Browsers' preload lists refuse a shorter max-age; sending preload
		// with it would only look protected.
		return Config{}, fmt.Errorf("invalid setting SIMPLEMODULE_HSTS_PRELOAD (--hsts-preload): preload needs SIMPLEMODULE_HSTS_MAX_AGE of at least %d (1 year), got %d", int64(minHSTSPreloadMaxAge/time.Second), int64(c.HSTSMaxAge/time.Second))
	}
	if c.EmailProvider == "smtp" && c.SMTPHost == "" {
		return Config{}, errors.New("invalid setting SIMPLEMODULE_SMTP_HOST: required when SIMPLEMODULE_EMAIL_PROVIDER=smtp")
	}
	return c, nil
}

// envNames lists the variables of every setting.
func envNames() []string {
	list := settings()
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.env
	}
	return names
}

// UnknownEnv returns, for each SIMPLEMODULE_* variable in environ
// ("NAME=value" entries, as os.Environ gives them) that is neither a
// setting nor one of also, a warning line naming it and, when one known
// name is clearly meant (a typo or two away), that name.
func UnknownEnv(environ []string, also ...string) []string {
	known := append(envNames(), also...)
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "SIMPLEMODULE_") || slices.Contains(known, name) {
			continue
		}
		w := "warning: unknown setting " + name + " is ignored"
		if guess := closest(name, known); guess != "" {
			w += " (did you mean " + guess + "?)"
		}
		warnings = append(warnings, w)
	}
	slices.Sort(warnings)
	return warnings
}

// closest returns the one name in known within a small edit distance of
// name (at most 2, or 3 for long names), or "" when none or several are.
func closest(name string, known []string) string {
	limit := 2
	if len(name) > 24 {
		limit = 3
	}
	best, bestDist, ties := "", limit+1, 0
	for _, k := range known {
		switch d := editDistance(name, k); {
		case d < bestDist:
			best, bestDist, ties = k, d, 0
		case d == bestDist:
			ties++
		}
	}
	if best == "" || ties > 0 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes: the names
// are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ParseLockout parses "5/15m/15m".
func ParseLockout(v string) (Lockout, error) {
	parts := strings.Split(v, "/")
	bad := fmt.Errorf("must look like 5/15m/15m (failures/window/lock), got %q", v)
	if len(parts) != 3 {
		return Lockout{}, bad
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 1 {
		return Lockout{}, bad
	}
	w, err1 := time.ParseDuration(parts[1])
	d, err2 := time.ParseDuration(parts[2])
	if err1 != nil || err2 != nil || w <= 0 || d <= 0 {
		return Lockout{}, bad
	}
	return Lockout{Failures: n, Window: w, Duration: d}, nil
}

// defaultBaseURL is http://ADDR, with a loopback IP written as localhost:
// a passkey cannot be tied to an IP address, and browsers treat localhost
// as a secure context, so passkeys work on a developer's machine out of the
// box (SPEC §9).
func defaultBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return "http://" + net.JoinHostPort("localhost", port)
	}
	return "http://" + addr
}
