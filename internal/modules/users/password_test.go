package users_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// Password change and reset (issue 2).

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
				res := a.Post("/account/manage/change-password", apptest.Form("current_password", tt.current, "new_password", tt.newPW, "confirm_password", tt.confirm))
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("got %d, want 422", res.Status)
				}
				if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, tt.wantErr) {
					t.Errorf("form-error: got %q, want it to contain %q", msg, tt.wantErr)
				}
				apptest.WantSignedIn(t, b, true)
				if res := e.NewClient().SubmitLogin("ann@example.com", newPassword); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("new password after refused change: got %d, want 422", res.Status)
				}
			})
		}
		if got := auditCount(e, "password.changed", id); got != 0 {
			t.Errorf("password.changed audit rows after refusals: got %d, want 0", got)
		}

		res := a.Post("/account/manage/change-password", apptest.Form("current_password", password, "new_password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("change password: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		apptest.WantSignedIn(t, a, true)
		res = b.Get("/account/manage")
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login?return_url=") {
			t.Errorf("other session after change: got %d to %q, want 303 to /account/login?return_url=…", res.Status, res.Header.Get("Location"))
		}
		if res := e.NewClient().SubmitLogin("ann@example.com", password); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("old password: got %d, want 422", res.Status)
		}
		if res := e.NewClient().SubmitLogin("ann@example.com", newPassword); res.Status != http.StatusSeeOther {
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
		kres := known.Post("/account/forgot-password", apptest.Form("email", "ann@example.com"))
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
		ures := unknown.Post("/account/forgot-password", apptest.Form("email", "nobody@example.com"))
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
	if res := e.NewClient().Post("/account/forgot-password", apptest.Form("email", addr)); res.Status != http.StatusSeeOther {
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
		res := c.Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", "something else"))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("mismatched confirmation: got %d, want 422", res.Status)
		}
		res = c.Post("/account/reset-password", apptest.Form("userId", id, "code", code+"x", "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code: got %d, want 422", res.Status)
		}

		res = c.Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("reset: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if got := res.Header.Get("Location"); got != "/account/login" {
			t.Errorf("reset Location: got %q, want /account/login", got)
		}
		apptest.WantSignedIn(t, other, false)
		if res := e.NewClient().SubmitLogin("ann@example.com", password); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("old password: got %d, want 422", res.Status)
		}
		if res := e.NewClient().SubmitLogin("ann@example.com", newPassword); res.Status != http.StatusSeeOther {
			t.Errorf("new password: got %d, want 303", res.Status)
		}
		if got := auditCount(e, "password.reset", id); got != 1 {
			t.Errorf("password.reset audit rows: got %d, want 1", got)
		}

		res = c.Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", "third password 3", "confirm_password", "third password 3"))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("second use: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "already been used") {
			t.Errorf("second use form-error: got %q, want it to contain %q", msg, "already been used")
		}
		if res := e.NewClient().SubmitLogin("ann@example.com", newPassword); res.Status != http.StatusSeeOther {
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
		res := e.NewClient().Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("expired link: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "expired") {
			t.Errorf("form-error: got %q, want it to contain %q", msg, "expired")
		}
		if res := e.NewClient().SubmitLogin("ann@example.com", password); res.Status != http.StatusSeeOther {
			t.Errorf("old password after expired reset: got %d, want 303", res.Status)
		}
	})
}

// A reset link issued before a password change stops working after it.
func TestPasswordChangeRevokesResetLink(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("max@example.com", password)
		e.NewClient().Post("/account/forgot-password", url.Values{"email": {"max@example.com"}})
		link, _ := url.Parse(e.LastLink("max@example.com"))
		res := c.Post("/account/manage/change-password", url.Values{"current_password": {password}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("change password: got %d", res.Status)
		}
		q := link.Query()
		res = e.NewClient().Post("/account/reset-password", url.Values{"userId": {q.Get("userId")}, "code": {q.Get("code")}, "password": {"attacker-pw-1"}, "confirm_password": {"attacker-pw-1"}})
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("old reset link after a password change: got %d, want 422", res.Status)
		}
		e.NewClient().Login("max@example.com", "new-password-1")
	})
}

// Forgot-password sends at most one link per account per cooldown, and
// answers the same either way.
func TestForgotPasswordCooldownIsSilent(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("kim@example.com", password)
		before := e.Email.Count()
		var first *apptest.Response
		for i := range 5 {
			res := e.NewClient().Post("/account/forgot-password", url.Values{"email": {"kim@example.com"}})
			if i == 0 {
				first = res
			} else if res.Status != first.Status || res.Header.Get("Location") != first.Header.Get("Location") {
				t.Errorf("request %d: got %d %q, want the same answer as the first", i, res.Status, res.Header.Get("Location"))
			}
		}
		if got := e.Email.Count() - before; got != 1 {
			t.Errorf("reset emails in one cooldown: got %d, want 1", got)
		}
	})
}

// Wrong current passwords on change-password count towards the lockout.
func TestChangePasswordGuessesLockOut(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ray@example.com", password)
		var last int
		for range 5 {
			last = c.Post("/account/manage/change-password", url.Values{"current_password": {"guess-guess"}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}}).Status
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("5th wrong current password: got %d, want 429", last)
		}
		res := c.Post("/account/manage/change-password", url.Values{"current_password": {password}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
		if res.Status != http.StatusTooManyRequests {
			t.Errorf("right current password while locked: got %d, want 429", res.Status)
		}
	})
}
