package config_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

func TestPasskeyOrigins(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []string
		wantErr bool
	}{
		{name: "unset", value: "", want: nil},
		{name: "two, spaces and a slash", value: " https://www.Example.com/ , http://localhost:8080", want: []string{"https://www.example.com", "http://localhost:8080"}},
		{name: "a path", value: "https://example.com/app", wantErr: true},
		{name: "no scheme", value: "example.com", wantErr: true},
		{name: "another scheme", value: "ftp://example.com", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SIMPLEMODULE_PASSKEY_ORIGINS": tt.value}
			c, _, err := config.Load("simplemodule", nil, func(k string) string { return env[k] }, io.Discard)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "SIMPLEMODULE_PASSKEY_ORIGINS") {
					t.Errorf("got error %v, want one naming SIMPLEMODULE_PASSKEY_ORIGINS", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.PasskeyOrigins, tt.want) {
				t.Errorf("got %q, want %q", c.PasskeyOrigins, tt.want)
			}
		})
	}
}

// Without SIMPLEMODULE_BASE_URL, a loopback listen address is written as
// localhost, so passkeys (which an IP address cannot carry) work locally.
func TestDefaultBaseURL(t *testing.T) {
	for _, tt := range []struct{ addr, base, want string }{
		{"127.0.0.1:8080", "", "http://localhost:8080"},
		{"[::1]:9000", "", "http://localhost:9000"},
		{"0.0.0.0:8080", "", "http://0.0.0.0:8080"},
		{"192.0.2.7:80", "", "http://192.0.2.7:80"},
		{"127.0.0.1:8080", "https://id.example.com", "https://id.example.com"},
	} {
		env := map[string]string{"SIMPLEMODULE_ADDR": tt.addr, "SIMPLEMODULE_BASE_URL": tt.base}
		c, _, err := config.Load("simplemodule", nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", tt.addr, err)
		}
		if c.BaseURL != tt.want {
			t.Errorf("addr %s, base %q: BaseURL %q, want %q", tt.addr, tt.base, c.BaseURL, tt.want)
		}
	}
}
