package dev_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Behind a trusted proxy on loopback, a forwarded hop the app cannot read as
// an address (one with a port it once could not parse, or garbage) must not
// leave the proxy's own loopback address as the client: /dev/outbox holds
// live codes and stays closed to everyone but the developer's machine.
func TestDevOutboxClosedToUnreadableForwardedHops(t *testing.T) {
	e := apptest.Start(t, "sqlite", func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	tests := []struct {
		name string
		xff  []string
	}{
		{name: "IPv4 with port", xff: []string{"203.0.113.5:4444"}},
		{name: "IPv6 in brackets with port", xff: []string{"[2001:db8::1]:443"}},
		{name: "garbage", xff: []string{"garbage"}},
		{name: "port that is no number", xff: []string{"203.0.113.5:abc"}},
		{name: "empty hop", xff: []string{"203.0.113.5, "}},
		{name: "garbage in a second header line", xff: []string{"203.0.113.5", "not an address"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.URL+"/dev/outbox", nil)
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if res := e.NewClient().Do(req); res.Status != http.StatusNotFound {
				t.Errorf("X-Forwarded-For %q: got %d, want 404", tt.xff, res.Status)
			}
		})
	}
	// The developer's own machine, forwarded by the same proxy, still gets in.
	req, _ := http.NewRequest(http.MethodGet, e.URL+"/dev/outbox", nil)
	req.Header.Set("X-Forwarded-For", "127.0.0.1:51234")
	if res := e.NewClient().Do(req); res.Status != http.StatusOK {
		t.Errorf("loopback client with a port: got %d, want 200", res.Status)
	}
}
