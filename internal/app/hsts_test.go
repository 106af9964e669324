package app_test

import (
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Production pins browsers to https on every answer (pages, redirects,
// errors, assets); development never does, or localhost would stay https
// for a year.
func TestStrictTransportSecurity(t *testing.T) {
	production := func(c *config.Config) {
		c.Env = "production"
		c.BaseURL = "https://example.com"
	}
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string // "" for no header
	}{
		{name: "development", change: nil},
		{name: "production default", change: production, want: "max-age=31536000"},
		{name: "production with preload", change: func(c *config.Config) {
			production(c)
			c.HSTSMaxAge *= 2
			c.HSTSPreload = true
		}, want: "max-age=63072000; includeSubDomains; preload"},
		{name: "production with max-age 0", change: func(c *config.Config) { production(c); c.HSTSMaxAge = 0 }},
		{name: "development with preload settings", change: func(c *config.Config) { c.HSTSPreload = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apptest.Start(t, "sqlite", tt.change)
			c := e.NewClient()
			for _, path := range []string{"/account/login", "/account/manage", "/no-such-page", "/static/app.css", "/healthz"} {
				res := c.Get(path)
				got, present := res.Header["Strict-Transport-Security"]
				switch {
				case tt.want == "" && present:
					t.Errorf("GET %s: Strict-Transport-Security %q, want none", path, got)
				case tt.want != "" && (len(got) != 1 || got[0] != tt.want):
					t.Errorf("GET %s: Strict-Transport-Security %q, want %q", path, got, tt.want)
				}
			}
		})
	}
}
