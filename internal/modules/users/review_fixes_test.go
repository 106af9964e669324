package users_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// Once a password is set another way (here a reset link), the invitation
// link cannot set another one.
func TestInvitationDiesWhenAPasswordIsSet(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ctx := context.Background()
		admin, err := e.App.Users.CreateUser(ctx, "boss@example.com", apptest.Password, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.App.Users.Admin().Invite(ctx, admin.ID, "inv@example.com", "Inv", false, "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		invitation, err := url.Parse(e.LastLink("inv@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		// The owner uses Forgot password instead.
		id, code := requestReset(t, e, "inv@example.com")
		if res := e.NewClient().Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword)); res.Status != http.StatusSeeOther {
			t.Fatalf("reset: got %d, want 303", res.Status)
		}
		q := invitation.Query()
		res := e.NewClient().Post("/account/invitation", apptest.Form("userId", q.Get("userId"), "code", q.Get("code"), "password", "another Strong passphrase 9", "confirm_password", "another Strong passphrase 9"))
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("old invitation after a reset: got %d, want 422", res.Status)
		}
		if res := e.NewClient().SubmitLogin("inv@example.com", newPassword); res.Status != http.StatusSeeOther {
			t.Errorf("the reset password: got %d, want it still to sign in", res.Status)
		}
	})
}

// The download holds the user's own addresses, never an administrator's.
func TestPersonalDataHidesAdministratorsAddress(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ctx := context.Background()
		admin, err := e.App.Users.CreateUser(ctx, "boss@example.com", apptest.Password, true)
		if err != nil {
			t.Fatal(err)
		}
		c := e.NewClient()
		c.Register("ann@example.com", password)
		ann := userID(t, e, "ann@example.com")
		if err := e.App.Users.Admin().ForceEmailReverification(ctx, admin.ID, ann, "198.51.100.77"); err != nil {
			// The address is unconfirmed: lock and unlock instead.
			if err := e.App.Users.Admin().Lock(ctx, admin.ID, ann, "198.51.100.77"); err != nil {
				t.Fatal(err)
			}
			if err := e.App.Users.Admin().Unlock(ctx, admin.ID, ann, "198.51.100.77"); err != nil {
				t.Fatal(err)
			}
		}
		c.Login("ann@example.com", password)
		res := c.Post("/account/manage/personal-data/download", url.Values{})
		if res.Status != http.StatusOK {
			t.Fatalf("download: got %d, want 200", res.Status)
		}
		if strings.Contains(res.Body, "198.51.100.77") {
			t.Errorf("the download holds the administrator's IP address")
		}
	})
}

// Deleting an account removes its emails even when the address was typed
// with capitals (messages keep the spelling as typed).
func TestDeleteAccountRemovesMessagesToCapitalisedAddress(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("Ann@Example.com", password)
		e.Email.Count() // deliver
		if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE subject = 'Confirm your email address'`); n != 1 {
			t.Fatalf("confirmation emails before: got %d, want 1", n)
		}
		if res := c.Post("/account/manage/delete-account", url.Values{"password": {password}}); res.Status != http.StatusSeeOther {
			t.Fatalf("delete: got %d, want 303", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE subject = 'Confirm your email address'`); n != 0 {
			t.Errorf("confirmation emails after deletion: got %d, want 0", n)
		}
	})
}
