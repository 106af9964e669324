package dev_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

func TestDevOutboxPage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("dev@example.com", apptest.Password)
		c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {"+14155550132"}})
		res := c.Get("/dev/outbox")
		if res.Status != http.StatusOK {
			t.Fatalf("GET /dev/outbox: got %d, want 200", res.Status)
		}
		for _, want := range []string{"14155550132", "verification code is", "dev@example.com", "queued"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("outbox page lacks %q", want)
			}
		}
		e.Drain()
		// The console sender delivered at once; in development the page
		// still shows the code, as the README promises.
		code := e.LastCode("+14155550132")
		res = c.Get("/dev/outbox")
		if !strings.Contains(res.Body, "verification code is "+code) {
			t.Errorf("after delivery the page lacks the code %s", code)
		}
		if !strings.Contains(res.Body, "sent") {
			t.Error("after delivery the page lacks the status sent")
		}
		// At the code's expiry the body is wiped all the same.
		e.Clock.Advance(e.Config.PhoneCodeTTL + time.Minute)
		e.Drain()
		res = c.Get("/dev/outbox")
		if strings.Contains(res.Body, code) {
			t.Error("after the code's expiry the page still shows it")
		}
	})
}

// Delivered bodies that hold codes or links stay readable (encrypted at
// rest) in development only; production wipes them once sent.
func TestDeliveredBodiesKeptOnlyInDevelopment(t *testing.T) {
	tests := []struct {
		name string
		env  string
		kept bool
	}{
		{name: "development", env: "development", kept: true},
		{name: "production", env: "production", kept: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := apptest.Start(t, "sqlite", func(c *config.Config) { c.Env = tt.env })
			// Registration queues the confirmation link (sensitive) without
			// needing a session cookie, which production marks Secure.
			e.NewClient().Post("/account/register", url.Values{"email": {"keep@example.com"}, "password": {apptest.Password}, "confirm_password": {apptest.Password}})
			e.Drain()
			if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE sensitive AND status = 'sent'`); n == 0 {
				t.Fatal("no sensitive message was sent")
			}
			readable := e.Count(`SELECT COUNT(*) FROM outbox WHERE sensitive AND status = 'sent' AND body <> ''`) > 0
			if readable != tt.kept {
				t.Errorf("sent sensitive body kept: got %v, want %v", readable, tt.kept)
			}
			if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE body LIKE '%/account/confirm-email%'`); n != 0 {
				t.Errorf("%d bodies readable in plain text at rest, want 0", n)
			}
		})
	}
}

func TestDevOutboxAbsentInProduction(t *testing.T) {
	e := apptest.Start(t, "sqlite", func(c *config.Config) { c.Env = "production" })
	if res := e.NewClient().Get("/dev/outbox"); res.Status != http.StatusNotFound {
		t.Errorf("GET /dev/outbox in production: got %d, want 404", res.Status)
	}
}

// /dev/outbox answers only the developer's own machine.
func TestDevOutboxRefusesRemoteClients(t *testing.T) {
	// A request through a trusted proxy on loopback that carries a remote
	// client address is treated as remote.
	e2 := apptest.Start(t, "sqlite", func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	req, _ := http.NewRequest(http.MethodGet, e2.URL+"/dev/outbox", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	if res := e2.NewClient().Do(req); res.Status != http.StatusNotFound {
		t.Errorf("remote client: got %d, want 404", res.Status)
	}
	if res := e2.NewClient().Get("/dev/outbox"); res.Status != http.StatusOK {
		t.Errorf("local client: got %d, want 200", res.Status)
	}
}
