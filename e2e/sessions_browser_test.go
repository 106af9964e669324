package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// userAgentTransport sends every request with a fixed User-Agent, so an
// HTTP client stands in for another browser on the sessions page.
type userAgentTransport string

func (ua userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", string(ua))
	return http.DefaultTransport.RoundTrip(r)
}

// TestSessionsPageInBrowser signs in from two other browsers and then from
// Chromium, and checks the sessions page at a laptop's and a phone's width:
// the current session marked, nothing wider than the window; then signs
// out one session with its button.
func TestSessionsPageInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	shots := screenshotDir(t)
	const email = "fox.mulder@example.com"
	if _, err := e.App.Users.CreateUser(t.Context(), email, layoutPassword, false); err != nil {
		t.Fatal(err)
	}
	for _, ua := range []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	} {
		c := e.NewClient()
		c.HTTP.Transport = userAgentTransport(ua)
		c.Login(email, layoutPassword)
		e.Clock.Advance(3 * time.Hour)
	}

	b := newBrowser(t, chrome)
	b.signIn(e, email, layoutPassword)
	b.viewport(desktopWidth)
	b.submit("open the sessions page", "/account/manage/sessions", chromedp.Navigate(e.URL+"/account/manage/sessions"))
	if got := b.eval(`document.querySelectorAll('[data-testid="session"]').length`); got != "3" {
		t.Fatalf("sessions listed: got %s, want 3", got)
	}
	if got := b.eval(`document.querySelector('[data-current="true"] [data-testid="session-browser"]').textContent`); got != "Chrome on Linux" {
		t.Errorf("current session: got %q, want Chrome on Linux", got)
	}
	b.noPageOverflow("sessions page at 1280 px")
	b.screenshot(filepath.Join(shots, "sessions-1280.png"))

	b.viewport(phoneWidth)
	b.noPageOverflow("sessions page at 390 px")
	b.screenshot(filepath.Join(shots, "sessions-390.png"))

	b.viewport(desktopWidth)
	b.submit("sign out the first other session", "/account/manage/sessions", chromedp.Click(testID("revoke-session")))
	b.wantText("flash", "The session has been signed out.")
	if got := b.eval(`document.querySelectorAll('[data-testid="session"]').length`); got != "2" {
		t.Errorf("sessions after signing one out: got %s, want 2", got)
	}
}
