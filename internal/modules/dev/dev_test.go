package dev_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

func TestDevOutboxPage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("dev@example.com", "password123")
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
		res = c.Get("/dev/outbox")
		if strings.Contains(res.Body, "verification code is") {
			t.Error("after delivery the page still shows the code")
		}
	})
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
