package apptest

import (
	"fmt"
	"net"

	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// localhostBaseURL is the base URL Localhost asks for; Start adds the port.
const localhostBaseURL = "http://localhost"

// Localhost is a Start option that serves the application as
// http://localhost:PORT instead of http://127.0.0.1:PORT: an IP address
// cannot be a passkey relying party ID, and browsers treat localhost as a
// secure context. Env.URL and the base URL then both use localhost, so
// cookies, links and passkey origins agree.
func Localhost(c *config.Config) { c.BaseURL = localhostBaseURL }

// baseURL is the application's base URL on the test server's address.
func baseURL(cfg config.Config, addr net.Addr) string {
	if cfg.BaseURL == localhostBaseURL {
		if tcp, ok := addr.(*net.TCPAddr); ok {
			return fmt.Sprintf("http://localhost:%d", tcp.Port)
		}
	}
	return "http://" + addr.String()
}
