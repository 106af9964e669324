package users_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Registration (issue 2).

func TestRegister(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)

		// Signing up signs nobody in (that would tell a new address from a
		// taken one): it says to check the email, whose link confirms the
		// address; then the password signs in.
		c := e.NewClient()
		res := c.Post("/account/register", apptest.Form("email", "ann@example.com", "password", password, "confirm_password", password))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("register: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if got := res.Header.Get("Location"); got != "/account/login" {
			t.Errorf("register Location: got %q, want /account/login", got)
		}
		if _, ok := responseCookie(res, "sm_session"); ok {
			t.Errorf("register: got an sm_session cookie, want none (nobody signed in)")
		}
		if got := flashAfter(t, c, res); !strings.Contains(got, "Check your email") || !strings.Contains(got, "ann@example.com") {
			t.Errorf("flash: got %q, want it to say to check the email sent to ann@example.com", got)
		}
		apptest.WantSignedIn(t, c, false)
		if got := e.Count(`SELECT COUNT(*) FROM users`); got != 1 {
			t.Fatalf("users: got %d, want 1", got)
		}
		if page := c.Get(e.LastLink("ann@example.com")); page.Status != http.StatusOK {
			t.Fatalf("confirmation link: got %d, want 200", page.Status)
		}
		c.Login("ann@example.com", password)
		page := c.Get("/account/manage")
		if page.Status != http.StatusOK {
			t.Fatalf("GET /account/manage: got %d, want 200", page.Status)
		}
		if got, _ := apptest.TestID(page.Body, "email"); got != "ann@example.com" {
			t.Errorf("manage page email: got %q, want ann@example.com", got)
		}
		if got, _ := apptest.TestID(page.Body, "email-status"); got != "Verified" {
			t.Errorf("email status after the link: got %q, want Verified", got)
		}

		tests := []struct {
			name     string
			email    string
			password string
			confirm  string
			wantErr  string
		}{
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

// Signing up with a taken address answers exactly as with a new one
// (issue 14, item 11; it replaces issue 2's "duplicate email refused with
// 422"): nothing is created, changed or signed in, the password is hashed
// all the same, and the owner is told by email.
func TestRegisterDoesNotRevealAccounts(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		annID := userID(t, e, "ann@example.com")

		register := func(addr string) (res *apptest.Response, flash string, hashes int64) {
			t.Helper()
			c := e.NewClient()
			before := e.PasswordHashes.Load()
			res = c.Post("/account/register", apptest.Form("email", addr, "password", "an intruder's own 9", "confirm_password", "an intruder's own 9"))
			hashes = e.PasswordHashes.Load() - before
			if res.Status != http.StatusSeeOther {
				t.Fatalf("register %s: got %d, want 303; body: %s", addr, res.Status, apptest.Excerpt(res.Body))
			}
			if _, ok := responseCookie(res, "sm_session"); ok {
				t.Errorf("register %s: got an sm_session cookie, want none", addr)
			}
			return res, strings.ReplaceAll(flashAfter(t, c, res), addr, "ADDR"), hashes
		}
		newRes, newFlash, newHashes := register("new@example.com")
		sent := e.Email.Count()

		for _, addr := range []string{"ann@example.com", "ANN@Example.COM"} {
			res, flash, hashes := register(addr)
			if got, want := res.Header.Get("Location"), newRes.Header.Get("Location"); got != want {
				t.Errorf("%s: Location %q, want %q as for a new address", addr, got, want)
			}
			if flash != newFlash {
				t.Errorf("%s: flash %q, want %q as for a new address", addr, flash, newFlash)
			}
			if hashes != newHashes || hashes != 1 {
				t.Errorf("%s: argon2id computations %d, want 1 as for a new address (%d)", addr, hashes, newHashes)
			}
		}
		if got := e.Count(`SELECT COUNT(*) FROM users`); got != 2 {
			t.Errorf("users: got %d, want 2 (ann and new)", got)
		}
		if res := e.NewClient().SubmitLogin("ann@example.com", "an intruder's own 9"); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("sign-in with the intruder's password: got %d, want 422", res.Status)
		}
		e.NewClient().Login("ann@example.com", password)

		// The owner hears of it once per cooldown, with the way back in.
		if got := e.Email.Count(); got != sent+1 {
			t.Errorf("emails after two attempts in one cooldown: got %d, want %d (one notice)", got, sent+1)
		}
		m, ok := e.Email.Last("ann@example.com")
		if !ok || !strings.Contains(m.Subject, "Someone tried to sign up") {
			t.Fatalf("latest email to ann: got %q (found %v), want the sign-up attempt notice", m.Subject, ok)
		}
		for _, want := range []string{"/account/login", "/account/forgot-password", "No new account was created"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("notice text: want it to contain %q; got %q", want, m.Text)
			}
		}
		if !hasEvent(e, contracts.RegistrationAttempted{UserID: annID, Email: "ann@example.com"}) {
			t.Errorf("no RegistrationAttempted event for ann")
		}
		if got := auditCount(e, "user.registration_attempted", annID); got != 1 {
			t.Errorf("user.registration_attempted audit rows: got %d, want 1", got)
		}
		e.Clock.Advance(2 * time.Minute)
		register("ann@example.com")
		if got := e.Email.Count(); got != sent+2 {
			t.Errorf("emails after an attempt past the cooldown: got %d, want %d", got, sent+2)
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
