package notifications_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// confirmedUser registers addr, confirms the email and returns the client.
func confirmedUser(t *testing.T, e *apptest.Env, addr string) *apptest.Client {
	t.Helper()
	c := e.NewClient()
	c.Register(addr, apptest.Password)
	if res := c.Get(e.LastLink(addr)); res.Status != http.StatusOK {
		t.Fatalf("confirm email: got %d, want 200", res.Status)
	}
	return c
}

func TestPhoneChangeNotifications(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := confirmedUser(t, e, "nia@example.com")
		before := e.Email.Count()

		// Adding a number on the profile: the confirmed address hears of it.
		if res := c.Post("/account/manage", url.Values{"phone_number": {"+14155550132"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("profile save: got %d", res.Status)
		}
		m, _ := e.Email.Last("nia@example.com")
		if e.Email.Count() != before+1 || m.Subject != "A phone number was added to your account" {
			t.Fatalf("after adding: got %d new emails, last %q; want 1 'A phone number was added…'", e.Email.Count()-before, m.Subject)
		}
		if strings.Contains(m.Text, "+14155550132") {
			t.Errorf("notification shows the whole number %q; want it masked", m.Text)
		}

		// Verifying a different number replaces it: "changed … and verified".
		e.Clock.Advance(time.Minute)
		c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {"+14155550177"}})
		c.Post("/account/manage/confirm-phone-number", url.Values{"phone_number": {"+14155550177"}, "code": {e.LastCode("+14155550177")}})
		m, _ = e.Email.Last("nia@example.com")
		if m.Subject != "Your phone number was changed" || !strings.Contains(m.Text, "and verified") {
			t.Errorf("after verifying a new number: got %q / %q, want a 'changed … and verified' notice", m.Subject, m.Text)
		}

		// Removing it.
		c.Post("/account/manage/remove-phone-number", nil)
		m, _ = e.Email.Last("nia@example.com")
		if m.Subject != "Your phone number was removed" {
			t.Errorf("after removing: got %q, want 'Your phone number was removed'", m.Subject)
		}
	})
}

func TestNoNotificationToUnconfirmedAddress(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ola@example.com", apptest.Password) // email left unconfirmed
		before := e.Email.Count()
		c.Post("/account/manage", url.Values{"phone_number": {"+14155550132"}})
		if got := e.Email.Count() - before; got != 0 {
			t.Errorf("emails to an unconfirmed address: got %d, want 0", got)
		}
		if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE subject LIKE '%phone%'`); n != 0 {
			t.Errorf("queued phone notices: got %d, want 0", n)
		}
	})
}

// Notices are written in the transaction of the change: when queuing one
// fails, the change itself is rolled back, and when it succeeds the notice
// is in the outbox the moment the change is visible.
func TestNoticeCommitsWithTheChange(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := confirmedUser(t, e, "tia@example.com")
		fail := true
		e.App.Bus.SubscribeTx(func(_ context.Context, _ *sql.Tx, ev any) error {
			if _, ok := ev.(contracts.PhoneNumberChanged); ok && fail {
				return errors.New("outbox unavailable")
			}
			return nil
		})
		res := c.Post("/account/manage", url.Values{"phone_number": {"+14155550132"}})
		if res.Status != http.StatusInternalServerError {
			t.Fatalf("with the notice failing: got %d, want 500", res.Status)
		}
		if _, ok := apptest.TestID(c.Get("/account/manage").Body, "phone-number"); ok {
			t.Error("the number was stored although its notice could not be queued")
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'phone.changed'`); n != 0 {
			t.Errorf("audit rows of the rolled-back change: got %d, want 0", n)
		}

		fail = false
		if res := c.Post("/account/manage", url.Values{"phone_number": {"+14155550132"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("profile save: got %d", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE recipient = 'tia@example.com' AND subject LIKE '%phone number%' AND status = 'queued'`); n != 1 {
			t.Errorf("queued notices right after the change: got %d, want 1", n)
		}
	})
}

// Someone signing up with a taken address: the owner is told, confirmed
// address or not (it is where the sign-up asked us to write, and whoever
// registered it first may not own it), with the way to sign in or reset.
func TestRegistrationAttemptNotice(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		confirmedUser(t, e, "nia@example.com")
		e.NewClient().Register("ola@example.com", apptest.Password) // left unconfirmed
		for _, addr := range []string{"nia@example.com", "ola@example.com"} {
			before := e.Email.Count()
			e.NewClient().Post("/account/register", url.Values{"email": {addr}, "password": {apptest.Password}, "confirm_password": {apptest.Password}})
			m, _ := e.Email.Last(addr)
			if got := e.Email.Count() - before; got != 1 || m.Subject != "Someone tried to sign up with your email address" {
				t.Fatalf("%s: got %d new emails, last %q; want 1 sign-up attempt notice", addr, got, m.Subject)
			}
			for _, want := range []string{e.Config.BaseURL + "/account/login", e.Config.BaseURL + "/account/forgot-password"} {
				if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
					t.Errorf("%s: notice lacks the link %s in its text or HTML", addr, want)
				}
			}
		}
	})
}

// An administrator's role change and "sign out everywhere" are told to the
// user; the same changes from the command line are not.
func TestAdminActionNotices(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		confirmedUser(t, e, "ann@example.com")
		ctx := context.Background()
		admin, err := e.App.Users.CreateUser(ctx, "boss@example.com", apptest.Password, true)
		if err != nil {
			t.Fatal(err)
		}
		var annID string
		if err := e.App.DB.QueryRow(`SELECT id FROM users WHERE normalized_email = 'ann@example.com'`).Scan(&annID); err != nil {
			t.Fatal(err)
		}
		subjects := func() []string {
			var out []string
			for _, m := range e.Email.Messages() {
				if m.To == "ann@example.com" {
					out = append(out, m.Subject)
				}
			}
			return out
		}
		before := len(subjects())
		if err := e.App.Users.Admin().SetAdmin(ctx, admin.ID, annID, true, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := e.App.Users.Admin().SignOutEverywhere(ctx, admin.ID, annID, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		if err := e.App.Users.SetAdmin(ctx, "ann@example.com", false); err != nil { // the command line
			t.Fatal(err)
		}
		got := strings.Join(subjects()[before:], " | ")
		if want := "You are now an administrator | You were signed out everywhere"; got != want {
			t.Errorf("notices to Ann: got %q, want %q", got, want)
		}
	})
}
