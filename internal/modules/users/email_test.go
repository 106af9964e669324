package users_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Email confirmation and change (issue 3).

// emailStatus returns the badge on /account/manage/email as c sees it.
func emailStatus(t *testing.T, c *apptest.Client) string {
	t.Helper()
	res := c.Get("/account/manage/email")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /account/manage/email: got %d, want 200", res.Status)
	}
	got, ok := apptest.TestID(res.Body, "email-status")
	if !ok {
		t.Fatalf("no email-status badge on /account/manage/email")
	}
	return got
}

// profileEmail returns the address and badge on /account/manage.
func profileEmail(t *testing.T, c *apptest.Client) (addr, status string) {
	t.Helper()
	res := c.Get("/account/manage")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /account/manage: got %d, want 200", res.Status)
	}
	addr, _ = apptest.TestID(res.Body, "email")
	status, _ = apptest.TestID(res.Body, "email-status")
	return addr, status
}

// withQuery returns link with query parameter key set to value.
func withQuery(t *testing.T, link, key, value string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

func TestConfirmEmail(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ann@example.com", password)
		id := userID(t, e, "ann@example.com")

		m, ok := e.Email.Last("ann@example.com")
		if !ok {
			t.Fatalf("got no email to ann@example.com after registering, want a confirmation")
		}
		if !strings.Contains(m.Subject, "Confirm") {
			t.Errorf("subject: got %q, want a confirmation email", m.Subject)
		}
		link := e.LastLink("ann@example.com")
		if !strings.HasPrefix(link, "/account/confirm-email?") {
			t.Fatalf("link: got %q, want /account/confirm-email?…", link)
		}
		if got := emailStatus(t, c); got != "Unverified" {
			t.Errorf("badge before: got %q, want Unverified", got)
		}

		res := c.Get(withQuery(t, link, "code", "wrong-code"))
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("wrong code: got %d, want 422", res.Status)
		}
		if _, ok := apptest.TestID(res.Body, "form-error"); !ok {
			t.Errorf("wrong code: got no form-error, want one")
		}
		other := e.NewClient()
		other.Register("bob@example.com", password)
		if res := c.Get(withQuery(t, link, "userId", userID(t, e, "bob@example.com"))); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("ann's code for bob: got %d, want 422", res.Status)
		}
		if got := emailStatus(t, c); got != "Unverified" {
			t.Errorf("badge after wrong codes: got %q, want Unverified", got)
		}
		if got := emailStatus(t, other); got != "Unverified" {
			t.Errorf("bob's badge: got %q, want Unverified", got)
		}

		// The link works in any browser, signed in or not.
		res = e.NewClient().Get(link)
		if res.Status != http.StatusOK {
			t.Fatalf("confirm: got %d, want 200; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if got := emailStatus(t, c); got != "Verified" {
			t.Errorf("badge after: got %q, want Verified", got)
		}
		if _, status := profileEmail(t, c); status != "Verified" {
			t.Errorf("profile badge after: got %q, want Verified", status)
		}
		if got := auditCount(e, "email.confirmed", id); got != 1 {
			t.Errorf("email.confirmed audit rows: got %d, want 1", got)
		}
		if !hasEvent(e, contracts.EmailConfirmed{UserID: id, Email: "ann@example.com"}) {
			t.Errorf("events: got %v, want EmailConfirmed for ann@example.com", e.Events.All())
		}

		res = c.Get(link)
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("second use: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "already been used") {
			t.Errorf("second use form-error: got %q, want it to contain %q", msg, "already been used")
		}
		if got := auditCount(e, "email.confirmed", id); got != 1 {
			t.Errorf("email.confirmed audit rows after second use: got %d, want 1", got)
		}
	})
}

func TestConfirmEmailExpired(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		link := e.LastLink("ann@example.com")

		e.Clock.Advance(24*time.Hour + time.Second)
		res := e.NewClient().Get(link)
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("expired link: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "expired") {
			t.Errorf("form-error: got %q, want it to contain %q", msg, "expired")
		}
		c := e.NewClient()
		c.Login("ann@example.com", password)
		if got := emailStatus(t, c); got != "Unverified" {
			t.Errorf("badge: got %q, want Unverified", got)
		}
	})
}

// changeEmail asks for the signed-in user's email to become newEmail.
func changeEmail(t *testing.T, c *apptest.Client, newEmail string) *apptest.Response {
	t.Helper()
	res := c.Post("/account/manage/email", apptest.Form("action", "change", "new_email", newEmail, "current_password", password))
	if res.Status != http.StatusSeeOther {
		t.Fatalf("change email to %s: got %d, want 303; body: %s", newEmail, res.Status, apptest.Excerpt(res.Body))
	}
	return res
}

func TestChangeEmail(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		a := e.NewClient()
		a.Register("old@example.com", password)
		b := e.NewClient()
		b.Login("old@example.com", password)
		id := userID(t, e, "old@example.com")

		res := changeEmail(t, a, "new@example.com")
		if got := res.Header.Get("Location"); got != "/account/manage/email" {
			t.Errorf("Location: got %q, want /account/manage/email", got)
		}
		link := e.LastLink("new@example.com")
		if !strings.HasPrefix(link, "/account/confirm-email-change?") {
			t.Fatalf("link: got %q, want /account/confirm-email-change?…", link)
		}
		if addr, _ := profileEmail(t, a); addr != "old@example.com" {
			t.Errorf("email before the link is opened: got %q, want old@example.com", addr)
		}

		// The link is bound to the address it was sent to.
		if res := a.Get(withQuery(t, link, "email", "mallory@example.com")); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("link with another address: got %d, want 422", res.Status)
		}

		res = a.Get(link)
		if res.Status != http.StatusOK {
			t.Fatalf("confirm change: got %d, want 200; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		addr, status := profileEmail(t, a)
		if addr != "new@example.com" || status != "Verified" {
			t.Errorf("profile: got %q %q, want new@example.com Verified", addr, status)
		}
		notice, ok := e.Email.Last("old@example.com")
		if !ok || !strings.Contains(notice.Subject, "changed") || !strings.Contains(notice.Text, "new@example.com") {
			t.Errorf("notice to old address: got %q / %q, want a 'was changed' notice naming new@example.com", notice.Subject, notice.Text)
		}
		apptest.WantSignedIn(t, b, false)
		if res := e.NewClient().SubmitLogin("old@example.com", password); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("sign in with old address: got %d, want 422", res.Status)
		}
		if res := e.NewClient().SubmitLogin("new@example.com", password); res.Status != http.StatusSeeOther {
			t.Errorf("sign in with new address: got %d, want 303", res.Status)
		}
		if got := auditCount(e, "email.changed", id); got != 1 {
			t.Errorf("email.changed audit rows: got %d, want 1", got)
		}
		if !hasEvent(e, contracts.EmailChanged{UserID: id, OldEmail: "old@example.com", NewEmail: "new@example.com"}) {
			t.Errorf("events: got %v, want EmailChanged old→new", e.Events.All())
		}
		if !hasEvent(e, contracts.EmailConfirmed{UserID: id, Email: "new@example.com"}) {
			t.Errorf("events: got %v, want EmailConfirmed for new@example.com", e.Events.All())
		}

		if res := a.Get(link); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("second use: got %d, want 422", res.Status)
		}
	})
}

func TestChangeEmailNewerLinkReplacesOlder(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ann@example.com", password)

		changeEmail(t, c, "first@example.com")
		first := e.LastLink("first@example.com")
		e.Clock.Advance(61 * time.Second)
		changeEmail(t, c, "second@example.com")
		second := e.LastLink("second@example.com")

		if res := c.Get(first); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("older link: got %d, want 422", res.Status)
		}
		if addr, _ := profileEmail(t, c); addr != "ann@example.com" {
			t.Errorf("email after older link: got %q, want ann@example.com", addr)
		}
		if res := c.Get(second); res.Status != http.StatusOK {
			t.Errorf("newer link: got %d, want 200", res.Status)
		}
		if addr, _ := profileEmail(t, c); addr != "second@example.com" {
			t.Errorf("email after newer link: got %q, want second@example.com", addr)
		}
	})
}

func TestChangeEmailToTakenAddress(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("taken@example.com", password)
		ann := e.NewClient()
		ann.Register("ann@example.com", password)
		bob := e.NewClient()
		bob.Register("bob@example.com", password)
		taken := e.Email.Count()

		free := changeEmail(t, bob, "free@example.com")
		freeFlash := strings.ReplaceAll(flashAfter(t, bob, free), "free@example.com", "ADDR")
		res := changeEmail(t, ann, "taken@example.com")
		if got, want := res.Header.Get("Location"), free.Header.Get("Location"); got != want {
			t.Errorf("Location: got %q, want %q (as for a free address)", got, want)
		}
		if got := strings.ReplaceAll(flashAfter(t, ann, res), "taken@example.com", "ADDR"); got != freeFlash {
			t.Errorf("flash: got %q, want %q (as for a free address)", got, freeFlash)
		}
		if got := e.Email.Count(); got != taken+1 {
			t.Errorf("emails: got %d, want %d (only to the free address)", got, taken+1)
		}
		if addr, _ := profileEmail(t, ann); addr != "ann@example.com" {
			t.Errorf("ann's email: got %q, want ann@example.com", addr)
		}
	})
}

func TestResendConfirmationCooldown(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ann@example.com", password)
		resend := func() *apptest.Response { return c.Post("/account/manage/email", apptest.Form("action", "resend")) }

		tests := []struct {
			name       string
			advance    time.Duration
			wantStatus int
		}{
			{name: "right after registering", advance: 0, wantStatus: http.StatusTooManyRequests},
			{name: "after 61s", advance: 61 * time.Second, wantStatus: http.StatusSeeOther},
			{name: "again within 60s", advance: 30 * time.Second, wantStatus: http.StatusTooManyRequests},
			{name: "61s after the last send", advance: 31 * time.Second, wantStatus: http.StatusSeeOther},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.Clock.Advance(tt.advance)
				before := e.Email.Count()
				res := resend()
				if res.Status != tt.wantStatus {
					t.Fatalf("got %d, want %d; body: %s", res.Status, tt.wantStatus, apptest.Excerpt(res.Body))
				}
				sent := e.Email.Count() - before
				if tt.wantStatus == http.StatusSeeOther {
					if sent != 1 {
						t.Errorf("emails sent: got %d, want 1", sent)
					}
					return
				}
				if sent != 0 {
					t.Errorf("emails sent while throttled: got %d, want 0", sent)
				}
				if n := retryAfter(res); n < 1 || n > 60 {
					t.Errorf("Retry-After: got %q, want 1..60 seconds", res.Header.Get("Retry-After"))
				}
				if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "wait") {
					t.Errorf("form-error: got %q, want it to say how long to wait", msg)
				}
			})
		}

		// Only the newest link confirms.
		if res := c.Get(e.LastLink("ann@example.com")); res.Status != http.StatusOK {
			t.Errorf("newest link: got %d, want 200", res.Status)
		}
		if got := emailStatus(t, c); got != "Verified" {
			t.Errorf("badge: got %q, want Verified", got)
		}
	})
}

func TestResendConfirmationSameAnswer(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		e.NewClient().Register("confirmed@example.com", password)
		if res := e.NewClient().Get(e.LastLink("confirmed@example.com")); res.Status != http.StatusOK {
			t.Fatalf("confirm: got %d, want 200", res.Status)
		}
		e.Clock.Advance(61 * time.Second)

		type answer struct {
			status   int
			location string
			flash    string
		}
		ask := func(addr string) answer {
			c := e.NewClient()
			res := c.Post("/account/resend-email-confirmation", apptest.Form("email", addr))
			a := answer{status: res.Status, location: res.Header.Get("Location")}
			if res.Status == http.StatusSeeOther {
				a.flash = strings.ReplaceAll(flashAfter(t, c, res), addr, "ADDR")
			}
			return a
		}
		before := e.Email.Count()
		want := ask("ann@example.com")
		if want.status != http.StatusSeeOther {
			t.Fatalf("known unconfirmed address: got %d, want 303", want.status)
		}
		if got := e.Email.Count(); got != before+1 {
			t.Fatalf("emails after known unconfirmed address: got %d, want %d", got, before+1)
		}
		if link := e.LastLink("ann@example.com"); !strings.HasPrefix(link, "/account/confirm-email?") {
			t.Errorf("link: got %q, want /account/confirm-email?…", link)
		}

		tests := []struct {
			name string
			addr string
		}{
			{name: "unknown address", addr: "nobody@example.com"},
			{name: "confirmed address", addr: "confirmed@example.com"},
			{name: "within cooldown", addr: "ann@example.com"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.Email.Count()
				if got := ask(tt.addr); got != want {
					t.Errorf("got %+v, want %+v", got, want)
				}
				if got := e.Email.Count(); got != before {
					t.Errorf("emails: got %d, want %d (none sent)", got, before)
				}
			})
		}
	})
}

func TestRequireConfirmedEmail(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		tests := []struct {
			name         string
			require      bool
			confirm      bool
			password     string
			wantStatus   int
			wantSignedIn bool
			wantResend   bool
		}{
			{name: "required, unconfirmed", require: true, password: password, wantStatus: http.StatusForbidden, wantResend: true},
			{name: "required, unconfirmed, wrong password", require: true, password: "wrong password", wantStatus: http.StatusUnprocessableEntity},
			{name: "required, confirmed", require: true, confirm: true, password: password, wantStatus: http.StatusSeeOther, wantSignedIn: true},
			{name: "not required, unconfirmed", require: false, password: password, wantStatus: http.StatusSeeOther, wantSignedIn: true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := apptest.Start(t, db, func(c *config.Config) { c.RequireConfirmedEmail = tt.require })
				reg := e.NewClient()
				res := reg.Post("/account/register", apptest.Form("email", "ann@example.com", "password", password, "confirm_password", password))
				if res.Status != http.StatusSeeOther {
					t.Fatalf("register: got %d, want 303", res.Status)
				}
				// Signing up signs nobody in, whatever the setting (issue 14).
				if got := res.Header.Get("Location"); got != "/account/login" {
					t.Errorf("register Location: got %q, want /account/login", got)
				}
				apptest.WantSignedIn(t, reg, false)
				if tt.confirm {
					if res := e.NewClient().Get(e.LastLink("ann@example.com")); res.Status != http.StatusOK {
						t.Fatalf("confirm: got %d, want 200", res.Status)
					}
				}

				c := e.NewClient()
				res = c.SubmitLogin("ann@example.com", tt.password)
				if res.Status != tt.wantStatus {
					t.Fatalf("login: got %d, want %d; body: %s", res.Status, tt.wantStatus, apptest.Excerpt(res.Body))
				}
				if _, ok := responseCookie(res, "sm_session"); ok != tt.wantSignedIn {
					t.Errorf("session cookie: got %v, want %v", ok, tt.wantSignedIn)
				}
				apptest.WantSignedIn(t, c, tt.wantSignedIn)
				offersResend := strings.Contains(res.Body, `action="/account/resend-email-confirmation"`) && strings.Contains(res.Body, `value="ann@example.com"`)
				if offersResend != tt.wantResend {
					t.Errorf("page offers to resend the confirmation: got %v, want %v", offersResend, tt.wantResend)
				}
			})
		}
	})
}

// Changing the email asks for the current password, so a stolen session is
// not enough to move the account to another inbox.
func TestChangeEmailNeedsCurrentPassword(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("cam@example.com", password)
		before := e.Email.Count()
		for _, tt := range []struct{ name, pw string }{{"missing", ""}, {"wrong", "not-my-password"}} {
			res := c.Post("/account/manage/email", apptest.Form("action", "change", "new_email", "thief@example.com", "current_password", tt.pw))
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s password: got %d, want 422", tt.name, res.Status)
			}
		}
		if got := e.Email.Count() - before; got != 0 {
			t.Errorf("emails after refused changes: got %d, want 0", got)
		}
		if _, ok := e.Email.Last("thief@example.com"); ok {
			t.Error("a change link went to the new address without the password")
		}
		changeEmail(t, c, "cam.new@example.com")
		if _, ok := e.Email.Last("cam.new@example.com"); !ok {
			t.Error("with the right password: no link to the new address")
		}
	})
}
