package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// Tests of the composition: the middleware chain every page goes through
// and the routes app.New adds itself. Module behaviour is tested beside
// each module (internal/modules/*).

// Passwords of the accounts the wiring tests create.
const (
	password    = "correct horse 1"
	newPassword = "battery staple 2"
)

func TestCrossOriginPostRefused(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		victim := e.NewClient()
		victim.Register("ann@example.com", password)

		headers := []struct {
			name   string
			key    string
			value  string
			refuse bool
		}{
			{name: "Sec-Fetch-Site cross-site", key: "Sec-Fetch-Site", value: "cross-site", refuse: true},
			{name: "Origin evil.example", key: "Origin", value: "http://evil.example", refuse: true},
		}
		posts := []struct {
			name string
			path string
			form url.Values
		}{
			{name: "register", path: "/account/register", form: apptest.Form("email", "mallory@example.com", "password", password, "confirm_password", password)},
			{name: "change password", path: "/account/manage/change-password", form: apptest.Form("current_password", password, "new_password", newPassword, "confirm_password", newPassword)},
			{name: "change email", path: "/account/manage/email", form: apptest.Form("action", "change", "new_email", "mallory@example.com")},
			{name: "logout", path: "/account/logout", form: apptest.Form()},
		}
		for _, h := range headers {
			for _, p := range posts {
				t.Run(h.name+"/"+p.name, func(t *testing.T) {
					req, _ := http.NewRequest(http.MethodPost, e.URL+p.path, strings.NewReader(p.form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set(h.key, h.value)
					res := victim.Do(req)
					if res.Status != http.StatusForbidden {
						t.Fatalf("got %d, want 403", res.Status)
					}
				})
			}
		}
		// Nothing happened: no new account, no email sent, same password, still signed in.
		if got := e.Count(`SELECT COUNT(*) FROM users`); got != 1 {
			t.Errorf("users: got %d, want 1", got)
		}
		if _, ok := e.Email.Last("mallory@example.com"); ok {
			t.Errorf("got an email to mallory@example.com, want none")
		}
		apptest.WantSignedIn(t, victim, true)
		if res := e.NewClient().SubmitLogin("ann@example.com", password); res.Status != http.StatusSeeOther {
			t.Errorf("original password: got %d, want 303", res.Status)
		}

		// The same request from this site's own origin is accepted.
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/account/logout", nil)
		req.Header.Set("Origin", e.URL)
		if res := victim.Do(req); res.Status != http.StatusSeeOther {
			t.Errorf("same-origin logout: got %d, want 303", res.Status)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()

		tests := []struct {
			name       string
			path       string
			wantStatus int
		}{
			{name: "page", path: "/account/login", wantStatus: http.StatusOK},
			{name: "redirect", path: "/account/manage", wantStatus: http.StatusSeeOther},
			{name: "not found", path: "/no-such-page", wantStatus: http.StatusNotFound},
			{name: "health", path: "/healthz", wantStatus: http.StatusOK},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := c.Get(tt.path)
				if res.Status != tt.wantStatus {
					t.Errorf("status: got %d, want %d", res.Status, tt.wantStatus)
				}
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("Content-Security-Policy: got %q, want frame-ancestors 'none'", csp)
				}
				if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
				}
			})
		}
	})
}

func TestHealthz(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		res := e.NewClient().Get("/healthz")
		if res.Status != http.StatusOK {
			t.Fatalf("got %d, want 200", res.Status)
		}
		if got := strings.TrimSpace(res.Body); got != "ok" {
			t.Errorf("body: got %q, want ok", got)
		}
	})
}
