package config_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// realFlags lists the flags Load accepts, read from its own --help.
func realFlags(t *testing.T) map[string]bool {
	t.Helper()
	var usage bytes.Buffer
	_, _, err := config.Load("simplemodule", []string{"--help"}, func(string) string { return "" }, &usage)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: got error %v, want flag.ErrHelp", err)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		flags[m[1]] = true
	}
	if !flags["addr"] || !flags["hsts-max-age"] {
		t.Fatalf("usage lists %v, want at least addr and hsts-max-age", flags)
	}
	return flags
}

// Every setting error is one line naming the variable, and any flag it
// names is one Load accepts: secrets have no flag, so an error about one
// must not send the reader to --secret.
func TestSettingErrorsNameRealFlags(t *testing.T) {
	flags := realFlags(t)
	if flags["secret"] || flags["smtp-password"] || flags["twilio-auth-token"] {
		t.Fatal("a secret can be given as a flag (it would show in ps and shell history)")
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // the variable the error must name
	}{
		{name: "short secret", env: map[string]string{"SIMPLEMODULE_SECRET": "short"}, want: "SIMPLEMODULE_SECRET"},
		{name: "bad address", env: map[string]string{"SIMPLEMODULE_ADDR": "nowhere"}, want: "SIMPLEMODULE_ADDR"},
		{name: "bad address flag", args: []string{"--addr", "nowhere"}, want: "SIMPLEMODULE_ADDR"},
		{name: "metrics on the public address", env: map[string]string{"SIMPLEMODULE_ADDR": "127.0.0.1:8080", "SIMPLEMODULE_METRICS_ADDR": "127.0.0.1:8080"}, want: "SIMPLEMODULE_METRICS_ADDR"},
		{name: "bad database url", env: map[string]string{"SIMPLEMODULE_DATABASE_URL": "mysql://x"}, want: "SIMPLEMODULE_DATABASE_URL"},
		{name: "bad base url", env: map[string]string{"SIMPLEMODULE_BASE_URL": "ftp://x"}, want: "SIMPLEMODULE_BASE_URL"},
		{name: "bad env", env: map[string]string{"SIMPLEMODULE_ENV": "staging"}, want: "SIMPLEMODULE_ENV"},
		{name: "bad log level", env: map[string]string{"SIMPLEMODULE_LOG_LEVEL": "loud"}, want: "SIMPLEMODULE_LOG_LEVEL"},
		{name: "bad sms provider", env: map[string]string{"SIMPLEMODULE_SMS_PROVIDER": "pigeon"}, want: "SIMPLEMODULE_SMS_PROVIDER"},
		{name: "bad phone lockout", env: map[string]string{"SIMPLEMODULE_PHONE_LOCKOUT": "often"}, want: "SIMPLEMODULE_PHONE_LOCKOUT"},
		{name: "bad trusted proxies", env: map[string]string{"SIMPLEMODULE_TRUSTED_PROXIES": "10.0.0.1/99"}, want: "SIMPLEMODULE_TRUSTED_PROXIES"},
		{name: "bad hsts max-age", env: map[string]string{"SIMPLEMODULE_HSTS_MAX_AGE": "forever"}, want: "SIMPLEMODULE_HSTS_MAX_AGE"},
		{name: "bad hsts preload", env: map[string]string{"SIMPLEMODULE_HSTS_PRELOAD": "maybe"}, want: "SIMPLEMODULE_HSTS_PRELOAD"},
		{name: "console sender in production", env: map[string]string{"SIMPLEMODULE_ENV": "production", "SIMPLEMODULE_BASE_URL": "https://example.com"}, want: "SIMPLEMODULE_SMS_PROVIDER"},
		{name: "http base url in production", env: map[string]string{"SIMPLEMODULE_ENV": "production", "SIMPLEMODULE_ALLOW_CONSOLE_IN_PRODUCTION": "true"}, want: "SIMPLEMODULE_BASE_URL"},
		{name: "smtp without host", env: map[string]string{"SIMPLEMODULE_EMAIL_PROVIDER": "smtp"}, want: "SIMPLEMODULE_SMTP_HOST"},
	}
	named := regexp.MustCompile(`--([a-z0-9-]+)`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := config.Load("simplemodule", tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil {
				t.Fatalf("got no error, want one naming %s", tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("got %q, want one line naming %s", msg, tt.want)
			}
			for _, m := range named.FindAllStringSubmatch(msg, -1) {
				if !flags[m[1]] {
					t.Errorf("got %q, which names --%s: no such flag", msg, m[1])
				}
			}
		})
	}
}
