package users_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// Common and guessable passwords are refused, with the reason, on every
// form that sets a password (issue 14, item 10).
func TestWeakPasswordsRefused(t *testing.T) {
	weak := []struct {
		name, pw, want string
	}{
		{name: "most common", pw: "password", want: "one of the most common passwords"},
		{name: "digits", pw: "12345678", want: "one of the most common passwords"},
		{name: "common with a number", pw: "Password123", want: "one of the most common passwords"},
		{name: "the email address", pw: "zoe.quinn2026", want: "email address"},
	}
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		signedIn := e.NewClient()
		signedIn.Register("ann@example.com", password)
		signedIn.Login("ann@example.com", password)
		id, code := requestReset(t, e, "ann@example.com")

		for _, tt := range weak {
			t.Run(tt.name, func(t *testing.T) {
				forms := []struct {
					page string
					post func() *apptest.Response
				}{
					{page: "register", post: func() *apptest.Response {
						return e.NewClient().Post("/account/register", apptest.Form("email", "zoe.quinn@example.com", "password", tt.pw, "confirm_password", tt.pw))
					}},
					{page: "change password", post: func() *apptest.Response {
						return signedIn.Post("/account/manage/change-password", apptest.Form("current_password", password, "new_password", tt.pw, "confirm_password", tt.pw))
					}},
					{page: "reset password", post: func() *apptest.Response {
						return e.NewClient().Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", tt.pw, "confirm_password", tt.pw))
					}},
				}
				for _, f := range forms {
					if f.page != "register" && tt.want == "email address" {
						continue // ann's address is not in it
					}
					res := f.post()
					if res.Status != http.StatusUnprocessableEntity {
						t.Fatalf("%s with %q: got %d, want 422", f.page, tt.pw, res.Status)
					}
					msg, _ := apptest.TestID(res.Body, "form-error")
					if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "Add another word") {
						t.Errorf("%s with %q: got form-error %q, want the reason (%q) and advice", f.page, tt.pw, msg, tt.want)
					}
				}
			})
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE normalized_email = $1`, "zoe.quinn@example.com"); n != 0 {
			t.Errorf("accounts created with weak passwords: got %d, want 0", n)
		}
		// Nothing changed: the old password still signs in, and the reset
		// link still works with a strong password.
		if res := e.NewClient().SubmitLogin("ann@example.com", password); res.Status != http.StatusSeeOther {
			t.Errorf("old password after refused changes: got %d, want 303", res.Status)
		}
		res := e.NewClient().Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusSeeOther {
			t.Errorf("reset with a strong password after refused weak ones: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
	})
}
