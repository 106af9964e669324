package app_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

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
