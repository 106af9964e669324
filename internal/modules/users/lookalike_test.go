package users_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Look-alike email addresses (issue 14, item 4): spellings that read as an
// existing address never become a second account.

func TestLookAlikeEmailsDoNotMakeSecondAccount(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.RegistrationsPerIP = 100 })
		e.NewClient().Register("ann@example.com", password)

		// Each variant is either refused (422) or answered as for an address
		// that exists; what matters is what is stored.
		variants := []struct {
			name  string
			email string
		}{
			{name: "fullwidth local part", email: "ａｎｎ@example.com"},
			{name: "fullwidth everything", email: "ＡＮＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ"},
			{name: "fullwidth domain", email: "ann@ｅｘａｍｐｌｅ.ｃｏｍ"},
			{name: "zero-width space inside", email: "an\u200bn@example.com"},
			{name: "zero-width space after", email: "ann@example.com\u200b"},
			{name: "zero-width joiner before at", email: "ann\u200d@example.com"},
			{name: "byte order mark first", email: "\ufeffann@example.com"},
		}
		for _, tt := range variants {
			t.Run(tt.name, func(t *testing.T) {
				res := e.NewClient().Post("/account/register", apptest.Form("email", tt.email, "password", password, "confirm_password", password))
				if res.Status != http.StatusUnprocessableEntity && res.Status != http.StatusSeeOther {
					t.Errorf("register %q: got %d, want 422 or 303; body: %s", tt.email, res.Status, apptest.Excerpt(res.Body))
				}
				if got := e.Count(`SELECT COUNT(*) FROM users`); got != 1 {
					t.Errorf("register %q: users: got %d, want 1", tt.email, got)
				}
			})
		}
		if got := e.Count(`SELECT COUNT(*) FROM users WHERE normalized_email = $1`, "ann@example.com"); got != 1 {
			t.Errorf("users with normalized_email ann@example.com: got %d, want 1", got)
		}

		// The comparison form serves lookups too: the fullwidth spelling
		// signs in to the one account.
		c := e.NewClient()
		c.Login("ａｎｎ@ｅｘａｍｐｌｅ.ｃｏｍ", password)
		page := c.Get("/account/manage")
		if got, _ := apptest.TestID(page.Body, "email"); got != "ann@example.com" {
			t.Errorf("signed in with the fullwidth spelling: manage page email %q, want ann@example.com", got)
		}
	})
}

func TestLookAlikeEmailsRefusedWithReason(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.RegistrationsPerIP = 100 })
		e.NewClient().Register("paypal@example.com", password)

		tests := []struct {
			name    string
			email   string
			wantMsg string
		}{
			{name: "Cyrillic er in a Latin local part", email: "\u0440aypal@example.com", wantMsg: "mixes letters from different alphabets"},
			{name: "Cyrillic ie in a Latin local part", email: "ann\u0435@example.com", wantMsg: "mixes letters from different alphabets"},
			{name: "Cyrillic a in a Latin domain label", email: "ann@ex\u0430mple.com", wantMsg: "mixes letters from different alphabets"},
			{name: "zero-width space inside", email: "pay\u200bpal@example.com", wantMsg: "invisible characters"},
			{name: "zero-width space after", email: "bob@example.com\u200b", wantMsg: "invisible characters"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.NewClient().Post("/account/register", apptest.Form("email", tt.email, "password", password, "confirm_password", password))
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("register %q: got %d, want 422; body: %s", tt.email, res.Status, apptest.Excerpt(res.Body))
				}
				msg, ok := apptest.TestID(res.Body, "form-error")
				if !ok || !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("form-error: got %q (present %v), want it to contain %q", msg, ok, tt.wantMsg)
				}
				if got := e.Count(`SELECT COUNT(*) FROM users`); got != 1 {
					t.Errorf("users: got %d, want 1", got)
				}
			})
		}

		// A whole address in one other alphabet is a different, legitimate
		// address (Unicode TS #39 single script), not a look-alike.
		e.NewClient().Register("иван@example.com", password)
		if got := e.Count(`SELECT COUNT(*) FROM users`); got != 2 {
			t.Errorf("after registering иван@example.com: users %d, want 2", got)
		}
	})
}

// A look-alike spelling of a taken address is taken too when an account
// moves to it: no link goes out, as for the plain spelling.
func TestChangeEmailToLookAlikeOfTakenAddress(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		bob := e.NewClient()
		bob.Register("bob@example.com", password)
		before := e.Email.Count()

		changeEmail(t, bob, "ＡＮＮ@example.com") // 303, as for any address
		if got := e.Email.Count(); got != before {
			t.Errorf("emails: got %d, want %d (none to a look-alike of a taken address)", got, before)
		}
		if addr, _ := profileEmail(t, bob); addr != "bob@example.com" {
			t.Errorf("bob's email: got %q, want bob@example.com", addr)
		}
	})
}
