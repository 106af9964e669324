package users_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Registration (issue 2).

func TestRegister(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)

		c := e.NewClient()
		res := c.Post("/account/register", apptest.Form("email", "ann@example.com", "password", password, "confirm_password", password))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("register: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if got := res.Header.Get("Location"); got != "/account/manage" {
			t.Errorf("register Location: got %q, want /account/manage", got)
		}
		if _, ok := responseCookie(res, "sm_session"); !ok {
			t.Errorf("register: got no sm_session cookie, want one (signed in)")
		}
		page := c.Get("/account/manage")
		if page.Status != http.StatusOK {
			t.Fatalf("GET /account/manage: got %d, want 200", page.Status)
		}
		if got, _ := apptest.TestID(page.Body, "email"); got != "ann@example.com" {
			t.Errorf("manage page email: got %q, want ann@example.com", got)
		}

		tests := []struct {
			name     string
			email    string
			password string
			confirm  string
			wantErr  string
		}{
			{name: "duplicate email", email: "ann@example.com", password: password, confirm: password, wantErr: "already exists"},
			{name: "duplicate email in other case", email: "ANN@Example.COM", password: password, confirm: password, wantErr: "already exists"},
			{name: "short password", email: "bob@example.com", password: "short12", confirm: "short12", wantErr: "at least 8 characters"},
			{name: "mismatched confirmation", email: "bob@example.com", password: password, confirm: password + "x", wantErr: "do not match"},
			{name: "invalid email", email: "bob.example.com", password: password, confirm: password, wantErr: "valid email"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.NewClient()
				res := c.Post("/account/register", apptest.Form("email", tt.email, "password", tt.password, "confirm_password", tt.confirm))
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("got %d, want 422", res.Status)
				}
				msg, ok := apptest.TestID(res.Body, "form-error")
				if !ok || !strings.Contains(msg, tt.wantErr) {
					t.Errorf("form-error: got %q (present %v), want it to contain %q", msg, ok, tt.wantErr)
				}
				if _, ok := responseCookie(res, "sm_session"); ok {
					t.Errorf("got an sm_session cookie, want none")
				}
				if got := e.Count(`SELECT COUNT(*) FROM users`); got != 1 {
					t.Errorf("users: got %d, want 1", got)
				}
			})
		}
	})
}

func TestRegistrationCapPerNetwork(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.RegistrationsPerIP = 3 })
		register := func(i int) *apptest.Response {
			return e.NewClient().Post("/account/register", url.Values{"email": {"r" + strconv.Itoa(i) + "@example.com"}, "password": {password}, "confirm_password": {password}})
		}
		for i := range 3 {
			if res := register(i); res.Status != http.StatusSeeOther {
				t.Fatalf("registration %d: got %d, want 303", i+1, res.Status)
			}
		}
		res := register(3)
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "3600" {
			t.Errorf("4th registration in the hour: got %d Retry-After %q, want 429 and 3600", res.Status, res.Header.Get("Retry-After"))
		}
		if n := e.Count(`SELECT COUNT(*) FROM users`); n != 3 {
			t.Errorf("accounts: got %d, want 3", n)
		}
		e.Clock.Advance(time.Hour + time.Second)
		if res := register(4); res.Status != http.StatusSeeOther {
			t.Errorf("after an hour: got %d, want 303", res.Status)
		}
	})
}
