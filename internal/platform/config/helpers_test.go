package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// loadCase loads the configuration from args and env for one table case.
// With wantErr set it fails unless Load returns a one-line error naming
// wantErr, and returns false: there is no configuration to check. Without,
// it fails on any error and returns the configuration and true.
func loadCase(t *testing.T, args []string, env map[string]string, wantErr string) (config.Config, bool) {
	t.Helper()
	c, _, err := config.Load("simplemodule", args, func(k string) string { return env[k] }, io.Discard)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("got error %v, want one line naming %s", err, wantErr)
		}
		return c, false
	}
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	return c, true
}
