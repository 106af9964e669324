package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// Accounts (issue 2): registration, sign-in, lockout, sessions, password
// change and reset, and the web protections every page keeps.

const (
	password    = "correct horse 1"
	newPassword = "battery staple 2"
	// rememberMeSeconds is the lifetime of a "remember me" session (14 days).
	rememberMeSeconds = 14 * 24 * 60 * 60
)

// form builds url.Values from key, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// responseCookie returns the cookie name set by res.
func responseCookie(res *apptest.Response, name string) (*http.Cookie, bool) {
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// flashAfter follows the redirect res with c and returns the flash message
// shown on the page it leads to.
func flashAfter(t *testing.T, c *apptest.Client, res *apptest.Response) string {
	t.Helper()
	loc := res.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location header (status %d)", res.Status)
	}
	page := c.Get(loc)
	flash, ok := apptest.TestID(page.Body, "flash")
	if !ok {
		t.Fatalf("GET %s: no flash message; body: %s", loc, apptest.Excerpt(page.Body))
	}
	return flash
}

// userID returns the id of the account with addr.
func userID(t *testing.T, e *apptest.Env, addr string) string {
	t.Helper()
	var id string
	if err := e.App.DB.QueryRow(`SELECT id FROM users WHERE normalized_email = $1`, strings.ToLower(addr)).Scan(&id); err != nil {
		t.Fatalf("user %s: %v", addr, err)
	}
	return id
}

// auditCount counts the audit rows of action about the user subject.
func auditCount(e *apptest.Env, action, subject string) int {
	return e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND subject_id = $2`, action, subject)
}

// hasEvent reports whether ev was published.
func hasEvent(e *apptest.Env, ev any) bool {
	return slices.Contains(e.Events.All(), ev)
}

// wantSignedIn checks that c can (or cannot) open /account/manage.
func wantSignedIn(t *testing.T, c *apptest.Client, want bool) {
	t.Helper()
	res := c.Get("/account/manage")
	switch {
	case want && res.Status != http.StatusOK:
		t.Errorf("GET /account/manage: got %d (Location %q), want 200 (signed in)", res.Status, res.Header.Get("Location"))
	case !want && (res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login")):
		t.Errorf("GET /account/manage: got %d (Location %q), want 303 to /account/login (signed out)", res.Status, res.Header.Get("Location"))
	}
}

// login posts the sign-in form.
func login(c *apptest.Client, addr, pw string) *apptest.Response {
	return c.Post("/account/login", form("email", addr, "password", pw))
}

func TestRegister(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)

		c := e.NewClient()
		res := c.Post("/account/register", form("email", "ann@example.com", "password", password, "confirm_password", password))
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
				res := c.Post("/account/register", form("email", tt.email, "password", tt.password, "confirm_password", tt.confirm))
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

func TestLogin(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name       string
			email      string
			password   string
			wantStatus int
			wantErr    string
		}{
			{name: "correct password", email: "ann@example.com", password: password, wantStatus: http.StatusSeeOther},
			{name: "email in other case", email: " Ann@EXAMPLE.com ", password: password, wantStatus: http.StatusSeeOther},
			{name: "wrong password", email: "ann@example.com", password: password + "x", wantStatus: http.StatusUnprocessableEntity, wantErr: "Invalid email or password."},
			{name: "unknown email", email: "nobody@example.com", password: password, wantStatus: http.StatusUnprocessableEntity, wantErr: "Invalid email or password."},
			{name: "empty password", email: "ann@example.com", password: "", wantStatus: http.StatusUnprocessableEntity, wantErr: "Invalid email or password."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.NewClient()
				res := login(c, tt.email, tt.password)
				if res.Status != tt.wantStatus {
					t.Fatalf("got %d, want %d; body: %s", res.Status, tt.wantStatus, apptest.Excerpt(res.Body))
				}
				if tt.wantStatus == http.StatusSeeOther {
					if got := res.Header.Get("Location"); got != "/account/manage" {
						t.Errorf("Location: got %q, want /account/manage", got)
					}
					wantSignedIn(t, c, true)
					return
				}
				if got, _ := apptest.TestID(res.Body, "form-error"); got != tt.wantErr {
					t.Errorf("form-error: got %q, want %q", got, tt.wantErr)
				}
				wantSignedIn(t, c, false)
			})
		}
	})
}

func TestLoginLockout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		c := e.NewClient()

		for i := 1; i <= 4; i++ {
			if res := login(c, "ann@example.com", "wrong password"); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("wrong password %d: got %d, want 422", i, res.Status)
			}
		}
		res := login(c, "ann@example.com", "wrong password")
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("wrong password 5: got %d, want 429", res.Status)
		}
		if got := res.Header.Get("Retry-After"); got != "900" {
			t.Errorf("Retry-After: got %q, want 900", got)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "15 minutes") {
			t.Errorf("form-error: got %q, want it to say how long to wait (15 minutes)", msg)
		}
		if got := auditCount(e, "signin.locked_out", userID(t, e, "ann@example.com")); got != 1 {
			t.Errorf("signin.locked_out audit rows: got %d, want 1", got)
		}

		res = login(c, "ann@example.com", password)
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("correct password while locked: got %d, want 429", res.Status)
		}
		e.Clock.Advance(14 * time.Minute)
		res = login(c, "ann@example.com", password)
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("correct password after 14m: got %d, want 429", res.Status)
		}
		if got := res.Header.Get("Retry-After"); got != "60" {
			t.Errorf("Retry-After after 14m: got %q, want 60", got)
		}
		wantSignedIn(t, c, false)

		e.Clock.Advance(time.Minute + time.Second)
		res = login(c, "ann@example.com", password)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("correct password after 15m1s: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		wantSignedIn(t, c, true)

		// The successful sign-in cleared the count: four more mistakes do not lock.
		other := e.NewClient()
		for i := 1; i <= 4; i++ {
			if res := login(other, "ann@example.com", "wrong password"); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("wrong password %d after unlock: got %d, want 422", i, res.Status)
			}
		}
		if res := login(other, "ann@example.com", password); res.Status != http.StatusSeeOther {
			t.Errorf("correct password after 4 new mistakes: got %d, want 303", res.Status)
		}
	})
}

func TestLogout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		res := c.Post("/account/register", form("email", "ann@example.com", "password", password, "confirm_password", password))
		token, ok := responseCookie(res, "sm_session")
		if !ok {
			t.Fatalf("register: got no sm_session cookie, want one")
		}
		wantSignedIn(t, c, true)

		res = c.Post("/account/logout", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("logout: got %d, want 303", res.Status)
		}
		if got := res.Header.Get("Location"); got != "/account/login" {
			t.Errorf("logout Location: got %q, want /account/login", got)
		}
		if got := flashAfter(t, c, res); got != "You have been signed out." {
			t.Errorf("flash: got %q, want %q", got, "You have been signed out.")
		}
		wantSignedIn(t, c, false)

		// The server forgot the session: the old cookie no longer works.
		replay := e.NewClient()
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/account/manage", nil)
		req.AddCookie(&http.Cookie{Name: "sm_session", Value: token.Value})
		if res := replay.Do(req); res.Status != http.StatusSeeOther {
			t.Errorf("old session cookie after logout: got %d, want 303", res.Status)
		}
		if got := e.Count(`SELECT COUNT(*) FROM sessions`); got != 0 {
			t.Errorf("sessions after logout: got %d, want 0", got)
		}
	})
}

func TestRememberMe(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name           string
			rememberMe     string
			wantPersistent bool
		}{
			{name: "remember me", rememberMe: "true", wantPersistent: true},
			{name: "browser session", rememberMe: "", wantPersistent: false},
		}
		clients := map[string]*apptest.Client{}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.NewClient()
				clients[tt.name] = c
				f := form("email", "ann@example.com", "password", password)
				if tt.rememberMe != "" {
					f.Set("remember_me", tt.rememberMe)
				}
				res := c.Post("/account/login", f)
				if res.Status != http.StatusSeeOther {
					t.Fatalf("login: got %d, want 303", res.Status)
				}
				ck, ok := responseCookie(res, "sm_session")
				if !ok {
					t.Fatalf("got no sm_session cookie, want one")
				}
				persistent := ck.MaxAge > 0 || !ck.Expires.IsZero()
				if persistent != tt.wantPersistent {
					t.Errorf("persistent cookie: got %v (Max-Age %d, Expires %v), want %v", persistent, ck.MaxAge, ck.Expires, tt.wantPersistent)
				}
				if tt.wantPersistent && ck.MaxAge != rememberMeSeconds {
					t.Errorf("Max-Age: got %d, want %d (14 days)", ck.MaxAge, rememberMeSeconds)
				}
				if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
					t.Errorf("cookie flags: got HttpOnly=%v SameSite=%v, want HttpOnly and Lax", ck.HttpOnly, ck.SameSite)
				}
			})
		}

		// A browser session ends on the server after 12 hours; a remembered one lasts.
		e.Clock.Advance(13 * time.Hour)
		t.Run("after 13 hours", func(t *testing.T) {
			wantSignedIn(t, clients["remember me"], true)
			wantSignedIn(t, clients["browser session"], false)
		})
	})
}

func TestChangePassword(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		a := e.NewClient()
		a.Register("ann@example.com", password)
		b := e.NewClient()
		b.Login("ann@example.com", password)
		id := userID(t, e, "ann@example.com")

		failures := []struct {
			name    string
			current string
			newPW   string
			confirm string
			wantErr string
		}{
			{name: "wrong current password", current: "not my password", newPW: newPassword, confirm: newPassword, wantErr: "current password is not correct"},
			{name: "short new password", current: password, newPW: "short12", confirm: "short12", wantErr: "at least 8 characters"},
			{name: "mismatched confirmation", current: password, newPW: newPassword, confirm: newPassword + "x", wantErr: "do not match"},
		}
		for _, tt := range failures {
			t.Run(tt.name, func(t *testing.T) {
				res := a.Post("/account/manage/change-password", form("current_password", tt.current, "new_password", tt.newPW, "confirm_password", tt.confirm))
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("got %d, want 422", res.Status)
				}
				if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, tt.wantErr) {
					t.Errorf("form-error: got %q, want it to contain %q", msg, tt.wantErr)
				}
				wantSignedIn(t, b, true)
				if res := login(e.NewClient(), "ann@example.com", newPassword); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("new password after refused change: got %d, want 422", res.Status)
				}
			})
		}
		if got := auditCount(e, "password.changed", id); got != 0 {
			t.Errorf("password.changed audit rows after refusals: got %d, want 0", got)
		}

		res := a.Post("/account/manage/change-password", form("current_password", password, "new_password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("change password: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		wantSignedIn(t, a, true)
		res = b.Get("/account/manage")
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login?return_url=") {
			t.Errorf("other session after change: got %d to %q, want 303 to /account/login?return_url=…", res.Status, res.Header.Get("Location"))
		}
		if res := login(e.NewClient(), "ann@example.com", password); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("old password: got %d, want 422", res.Status)
		}
		if res := login(e.NewClient(), "ann@example.com", newPassword); res.Status != http.StatusSeeOther {
			t.Errorf("new password: got %d, want 303", res.Status)
		}
		if got := auditCount(e, "password.changed", id); got != 1 {
			t.Errorf("password.changed audit rows: got %d, want 1", got)
		}
		if !hasEvent(e, contracts.PasswordChanged{UserID: id}) {
			t.Errorf("events: got %v, want PasswordChanged for %s", e.Events.All(), id)
		}
	})
}

func TestForgotPasswordSameAnswer(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		sent := e.Email.Count()

		known := e.NewClient()
		kres := known.Post("/account/forgot-password", form("email", "ann@example.com"))
		if kres.Status != http.StatusSeeOther {
			t.Fatalf("known address: got %d, want 303", kres.Status)
		}
		if got := e.Email.Count(); got != sent+1 {
			t.Fatalf("emails after known address: got %d, want %d", got, sent+1)
		}
		m, _ := e.Email.Last("ann@example.com")
		if !strings.Contains(m.Subject, "Reset") {
			t.Errorf("subject: got %q, want a reset email", m.Subject)
		}
		if link := e.LastLink("ann@example.com"); !strings.HasPrefix(link, "/account/reset-password?") {
			t.Errorf("link: got %q, want /account/reset-password?…", link)
		}
		kflash := strings.ReplaceAll(flashAfter(t, known, kres), "ann@example.com", "ADDR")

		unknown := e.NewClient()
		ures := unknown.Post("/account/forgot-password", form("email", "nobody@example.com"))
		if ures.Status != kres.Status {
			t.Errorf("unknown address status: got %d, want %d (as for a known one)", ures.Status, kres.Status)
		}
		if got, want := ures.Header.Get("Location"), kres.Header.Get("Location"); got != want {
			t.Errorf("unknown address Location: got %q, want %q", got, want)
		}
		if got := strings.ReplaceAll(flashAfter(t, unknown, ures), "nobody@example.com", "ADDR"); got != kflash {
			t.Errorf("unknown address flash: got %q, want %q", got, kflash)
		}
		if got := e.Email.Count(); got != sent+1 {
			t.Errorf("emails after unknown address: got %d, want %d", got, sent+1)
		}
	})
}

// requestReset asks for a reset link for addr and returns its userId and code.
func requestReset(t *testing.T, e *apptest.Env, addr string) (id, code string) {
	t.Helper()
	if res := e.NewClient().Post("/account/forgot-password", form("email", addr)); res.Status != http.StatusSeeOther {
		t.Fatalf("forgot password: got %d, want 303", res.Status)
	}
	u, err := url.Parse(e.LastLink(addr))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("userId"), u.Query().Get("code")
}

func TestResetPassword(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		other := e.NewClient()
		other.Register("ann@example.com", password)

		id, code := requestReset(t, e, "ann@example.com")
		c := e.NewClient()
		page := c.Get("/account/reset-password?" + url.Values{"userId": {id}, "code": {code}}.Encode())
		if page.Status != http.StatusOK || !strings.Contains(page.Body, `value="`+code+`"`) {
			t.Fatalf("reset page: got %d (code in form: %v), want 200 with the code", page.Status, strings.Contains(page.Body, code))
		}

		// A form mistake does not use up the link.
		res := c.Post("/account/reset-password", form("userId", id, "code", code, "password", newPassword, "confirm_password", "something else"))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("mismatched confirmation: got %d, want 422", res.Status)
		}
		res = c.Post("/account/reset-password", form("userId", id, "code", code+"x", "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code: got %d, want 422", res.Status)
		}

		res = c.Post("/account/reset-password", form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("reset: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if got := res.Header.Get("Location"); got != "/account/login" {
			t.Errorf("reset Location: got %q, want /account/login", got)
		}
		wantSignedIn(t, other, false)
		if res := login(e.NewClient(), "ann@example.com", password); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("old password: got %d, want 422", res.Status)
		}
		if res := login(e.NewClient(), "ann@example.com", newPassword); res.Status != http.StatusSeeOther {
			t.Errorf("new password: got %d, want 303", res.Status)
		}
		if got := auditCount(e, "password.reset", id); got != 1 {
			t.Errorf("password.reset audit rows: got %d, want 1", got)
		}

		res = c.Post("/account/reset-password", form("userId", id, "code", code, "password", "third password 3", "confirm_password", "third password 3"))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("second use: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "already been used") {
			t.Errorf("second use form-error: got %q, want it to contain %q", msg, "already been used")
		}
		if res := login(e.NewClient(), "ann@example.com", newPassword); res.Status != http.StatusSeeOther {
			t.Errorf("password after refused second use: got %d, want 303 with the first new password", res.Status)
		}
	})
}

func TestResetPasswordExpired(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		id, code := requestReset(t, e, "ann@example.com")

		e.Clock.Advance(time.Hour + time.Second)
		res := e.NewClient().Post("/account/reset-password", form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("expired link: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "expired") {
			t.Errorf("form-error: got %q, want it to contain %q", msg, "expired")
		}
		if res := login(e.NewClient(), "ann@example.com", password); res.Status != http.StatusSeeOther {
			t.Errorf("old password after expired reset: got %d, want 303", res.Status)
		}
	})
}

func TestManageRequiresSignIn(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name         string
			path         string
			wantLocation string
		}{
			{name: "profile", path: "/account/manage", wantLocation: "/account/login?return_url=%2Faccount%2Fmanage"},
			{name: "email", path: "/account/manage/email", wantLocation: "/account/login?return_url=%2Faccount%2Fmanage%2Femail"},
			{name: "change password", path: "/account/manage/change-password", wantLocation: "/account/login?return_url=%2Faccount%2Fmanage%2Fchange-password"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.NewClient()
				res := c.Get(tt.path)
				if res.Status != http.StatusSeeOther {
					t.Fatalf("got %d, want 303", res.Status)
				}
				loc := res.Header.Get("Location")
				if loc != tt.wantLocation {
					t.Fatalf("Location: got %q, want %q", loc, tt.wantLocation)
				}
				// Signing in from there comes back to the page.
				u, _ := url.Parse(loc)
				res = c.Post("/account/login", form("email", "ann@example.com", "password", password, "return_url", u.Query().Get("return_url")))
				if got := res.Header.Get("Location"); res.Status != http.StatusSeeOther || got != tt.path {
					t.Errorf("login: got %d to %q, want 303 to %q", res.Status, got, tt.path)
				}
			})
		}
	})
}

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
			{name: "register", path: "/account/register", form: form("email", "mallory@example.com", "password", password, "confirm_password", password)},
			{name: "change password", path: "/account/manage/change-password", form: form("current_password", password, "new_password", newPassword, "confirm_password", newPassword)},
			{name: "change email", path: "/account/manage/email", form: form("action", "change", "new_email", "mallory@example.com")},
			{name: "logout", path: "/account/logout", form: form()},
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
		wantSignedIn(t, victim, true)
		if res := login(e.NewClient(), "ann@example.com", password); res.Status != http.StatusSeeOther {
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

func TestLoginReturnURL(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name      string
			returnURL string
			want      string
		}{
			{name: "absolute URL", returnURL: "https://evil.example/", want: "/account/manage"},
			{name: "scheme-relative", returnURL: "//evil.example", want: "/account/manage"},
			{name: "backslash", returnURL: `/\evil.example`, want: "/account/manage"},
			{name: "slash backslash slash", returnURL: `/\/evil.example`, want: "/account/manage"},
			{name: "scheme with one slash", returnURL: "http:/evil", want: "/account/manage"},
			{name: "javascript", returnURL: "javascript:alert(1)", want: "/account/manage"},
			{name: "tab before slashes", returnURL: "/\t/evil.example", want: "/account/manage"},
			{name: "empty", returnURL: "", want: "/account/manage"},
			{name: "local page", returnURL: "/account/manage/phone", want: "/account/manage/phone"},
			{name: "local page with query", returnURL: "/account/manage/email?tab=1", want: "/account/manage/email?tab=1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.NewClient().Post("/account/login", form("email", "ann@example.com", "password", password, "return_url", tt.returnURL))
				if res.Status != http.StatusSeeOther {
					t.Fatalf("got %d, want 303", res.Status)
				}
				if got := res.Header.Get("Location"); got != tt.want {
					t.Errorf("Location: got %q, want %q", got, tt.want)
				}
			})
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

// retryAfter parses the Retry-After header in seconds (-1 when absent or bad).
func retryAfter(res *apptest.Response) int {
	n, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil {
		return -1
	}
	return n
}
