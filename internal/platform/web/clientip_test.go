package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// The proxies in front of the app in these tests: a private network, the
// loopback proxy of a single-host setup, and an IPv6 load balancer.
var testProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		name    string
		peer    string
		xff     []string // one element per header line
		want    string   // ClientIP
		wantKey string   // RateKey; "" when the client is unknown (checked apart)
	}{
		{name: "untrusted peer: header ignored", peer: "198.51.100.7:1234", xff: []string{"203.0.113.5"}, want: "198.51.100.7", wantKey: "198.51.100.7"},
		{name: "trusted peer without header", peer: "10.0.0.1:1234", want: "10.0.0.1", wantKey: "10.0.0.1"},
		{name: "plain hop", peer: "10.0.0.1:1234", xff: []string{"203.0.113.5"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "IPv4 hop with port", peer: "10.0.0.1:1234", xff: []string{"203.0.113.5:4444"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "IPv6 hop in brackets with port", peer: "10.0.0.1:1234", xff: []string{"[2001:db8::1]:443"}, want: "2001:db8::1", wantKey: "2001:db8::/64"},
		{name: "IPv6 hop in brackets", peer: "10.0.0.1:1234", xff: []string{"[2001:db8::1]"}, want: "2001:db8::1", wantKey: "2001:db8::/64"},
		{name: "bare IPv6 hop", peer: "10.0.0.1:1234", xff: []string{"2001:db8::1"}, want: "2001:db8::1", wantKey: "2001:db8::/64"},
		{name: "IPv6 hop with zone", peer: "10.0.0.1:1234", xff: []string{"[fe80::1%eth0]:443"}, want: "fe80::1", wantKey: "fe80::/64"},
		{name: "IPv4-mapped hop", peer: "10.0.0.1:1234", xff: []string{"::ffff:203.0.113.5"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "IPv4-mapped hop with port", peer: "10.0.0.1:1234", xff: []string{"[::ffff:203.0.113.5]:80"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "IPv6 peer", peer: "[2001:db8:ffff::9]:1234", xff: []string{"203.0.113.5"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "trusted hops skipped", peer: "10.0.0.1:1234", xff: []string{"203.0.113.5, 10.0.0.2, 10.0.0.3:80"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "spoofed hop left of the client ignored", peer: "10.0.0.1:1234", xff: []string{"127.0.0.1, 203.0.113.5"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "garbage left of the client ignored", peer: "10.0.0.1:1234", xff: []string{"garbage, 203.0.113.5:4444"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "spaces around hops", peer: "10.0.0.1:1234", xff: []string{"  203.0.113.5  ,\t10.0.0.2 "}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "multiple header lines", peer: "10.0.0.1:1234", xff: []string{"198.51.100.1, 203.0.113.5", "10.0.0.2"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "client in the last header line", peer: "10.0.0.1:1234", xff: []string{"198.51.100.1", "203.0.113.5"}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "empty header line names no hop", peer: "10.0.0.1:1234", xff: []string{""}, want: "10.0.0.1", wantKey: "10.0.0.1"},
		{name: "empty header line beside a real one", peer: "10.0.0.1:1234", xff: []string{"203.0.113.5", " "}, want: "203.0.113.5", wantKey: "203.0.113.5"},
		{name: "every hop trusted", peer: "10.0.0.1:1234", xff: []string{"10.0.0.3, 10.0.0.2"}, want: "10.0.0.3", wantKey: "10.0.0.3"},
		{name: "garbage hop", peer: "10.0.0.1:1234", xff: []string{"garbage"}, want: "unknown"},
		{name: "garbage behind a trusted hop", peer: "10.0.0.1:1234", xff: []string{"203.0.113.5, garbage, 10.0.0.2"}, want: "unknown"},
		{name: "host name with port", peer: "10.0.0.1:1234", xff: []string{"proxy.example:80"}, want: "unknown"},
		{name: "port that is no number", peer: "127.0.0.1:1234", xff: []string{"203.0.113.5:abc"}, want: "unknown"},
		{name: "IPv4 in brackets", peer: "127.0.0.1:1234", xff: []string{"[203.0.113.5]"}, want: "unknown"},
		{name: "unclosed bracket", peer: "127.0.0.1:1234", xff: []string{"[2001:db8::1"}, want: "unknown"},
		{name: "empty hop at the client's position", peer: "10.0.0.1:1234", xff: []string{"203.0.113.5, , 10.0.0.2"}, want: "unknown"},
		{name: "trailing comma", peer: "127.0.0.1:1234", xff: []string{"203.0.113.5,"}, want: "unknown"},
	}
	k := &web.Kit{TrustedProxies: testProxies}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := k.ClientIP(r); got != tt.want {
				t.Errorf("ClientIP: got %q, want %q", got, tt.want)
			}
			key := k.RateKey(r)
			if tt.wantKey != "" {
				if key != tt.wantKey {
					t.Errorf("RateKey: got %q, want %q", key, tt.wantKey)
				}
				return
			}
			// An unknown client is never an address (so never loopback),
			// and never counts against its proxy's bucket.
			if _, err := netip.ParseAddr(k.ClientIP(r)); err == nil {
				t.Errorf("ClientIP %q parses as an address, want an unknown client", k.ClientIP(r))
			}
			if !strings.HasPrefix(key, "unknown:") {
				t.Errorf("RateKey: got %q, want an unknown: key", key)
			}
		})
	}
}

// Clients whose hops are unreadable in different ways count against
// different keys, so one of them cannot use up everyone's limit; the same
// text always counts against the same key.
func TestRateKeyOfUnknownClients(t *testing.T) {
	k := &web.Kit{TrustedProxies: testProxies}
	key := func(xff string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.1:1234"
		r.Header.Set("X-Forwarded-For", xff)
		return k.RateKey(r)
	}
	a, b := key("garbage-one"), key("garbage-two")
	if a == b {
		t.Errorf("two unreadable hops share the key %q", a)
	}
	if again := key("garbage-one"); again != a {
		t.Errorf("the same hop: got key %q, then %q", a, again)
	}
	if peer := key(""); a == peer || b == peer {
		t.Errorf("an unreadable hop counts against the proxy's key %q", peer)
	}
}
