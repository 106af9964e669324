package config

import (
	"fmt"
	"net/url"
	"strings"
)

// passkeyOrigins reads SIMPLEMODULE_PASSKEY_ORIGINS: absolute http(s)
// origins, comma separated, with no path. A browser reports the origin a
// ceremony ran on, and only listed origins (and the base URL's) pass.
func passkeyOrigins(c *Config, v string) error {
	c.PasskeyOrigins = nil
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSuffix(strings.TrimSpace(part), "/")
		if part == "" {
			continue
		}
		u, err := url.Parse(part)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("must list origins like https://example.com, got %q", part)
		}
		c.PasskeyOrigins = append(c.PasskeyOrigins, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	return nil
}
