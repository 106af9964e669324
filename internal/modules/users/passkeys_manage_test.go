package users_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// passkeyIDs lists the ids of the user's passkeys, oldest first.
func passkeyIDs(t *testing.T, e *apptest.Env, userID string) []string {
	t.Helper()
	rows, err := e.App.DB.Query(`SELECT id FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestPasskeyManagePage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		const addr = "mo@example.com"
		c, _ := signedUpWithPasskey(t, e, addr)
		id := userID(t, e, addr)
		pid := passkeyIDs(t, e, id)[0]

		page := c.Get("/account/manage/passkeys")
		for _, want := range []string{`data-testid="add-passkey"`, `src="/static/passkeys.js"`, "<noscript>", `href="/account/manage/passkeys" aria-current="page"`} {
			if !strings.Contains(page.Body, want) {
				t.Errorf("passkeys page: want %s in it", want)
			}
		}

		t.Run("rename", func(t *testing.T) {
			tests := []struct {
				name, value string
				wantStatus  int
			}{
				{name: "empty", value: "  ", wantStatus: http.StatusUnprocessableEntity},
				{name: "too long", value: strings.Repeat("x", 61), wantStatus: http.StatusUnprocessableEntity},
				{name: "control character", value: "a\tb\x07", wantStatus: http.StatusUnprocessableEntity},
				{name: "good", value: "  Phone   in pocket ", wantStatus: http.StatusSeeOther},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := c.Post("/account/manage/passkeys/"+pid+"/rename", apptest.Form("name", tt.value))
					if res.Status != tt.wantStatus {
						t.Errorf("rename: got %d, want %d; %s", res.Status, tt.wantStatus, apptest.Excerpt(res.Body))
					}
				})
			}
			page := c.Get("/account/manage/passkeys")
			if name, _ := apptest.TestID(page.Body, "passkey-name-shown"); name != "Phone in pocket" {
				t.Errorf("name: got %q, want %q", name, "Phone in pocket")
			}
			if n := auditCount(e, "passkey.renamed", id); n != 1 {
				t.Errorf("audit rows passkey.renamed: got %d, want 1", n)
			}
			if res := c.Post("/account/manage/passkeys/nope/rename", apptest.Form("name", "x")); res.Status != http.StatusNotFound {
				t.Errorf("rename unknown passkey: got %d, want 404", res.Status)
			}
		})

		t.Run("personal data", func(t *testing.T) {
			res := c.Post("/account/manage/personal-data/download", nil)
			var doc struct {
				Passkeys []map[string]any `json:"passkeys"`
			}
			if err := json.Unmarshal([]byte(res.Body), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Passkeys) != 1 || doc.Passkeys[0]["name"] != "Phone in pocket" || doc.Passkeys[0]["created_at"] == nil {
				t.Errorf("passkeys in the download: got %v, want the one with its name and dates", doc.Passkeys)
			}
			var key string
			if err := e.App.DB.QueryRow(`SELECT public_key FROM passkeys WHERE id = $1`, pid).Scan(&key); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(res.Body, key) {
				t.Error("download holds the public key; want metadata only")
			}
		})

		t.Run("delete the only way to sign in", func(t *testing.T) {
			// An account without a password (none exists yet: this guards
			// the rule for when one can).
			if _, err := e.App.DB.Exec(`UPDATE users SET password_hash = '' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
			res := c.Post("/account/manage/passkeys/"+pid+"/delete", nil)
			if msg, _ := apptest.TestID(res.Body, "form-error"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, "only way to sign in") {
				t.Errorf("delete: got %d %q, want 422 saying it is the only way to sign in", res.Status, msg)
			}
			if n := len(passkeyIDs(t, e, id)); n != 1 {
				t.Errorf("passkeys: got %d, want 1", n)
			}
			if _, err := e.App.DB.Exec(`UPDATE users SET password_hash = '$argon2id$restored' WHERE id = $1`, id); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("delete", func(t *testing.T) {
			confirm := c.Get("/account/manage/passkeys?confirm=" + pid)
			if _, ok := apptest.TestID(confirm.Body, "confirm-delete-passkey"); !ok || !strings.Contains(confirm.Body, `action="/account/manage/passkeys/`+pid+`/delete"`) {
				t.Fatalf("confirmation: want a form posting the deletion; %s", apptest.Excerpt(confirm.Body))
			}
			res := c.Post("/account/manage/passkeys/"+pid+"/delete", nil)
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/account/manage/passkeys" {
				t.Fatalf("delete: got %d to %q, want 303 to the passkeys page", res.Status, res.Header.Get("Location"))
			}
			if n := len(passkeyIDs(t, e, id)); n != 0 {
				t.Errorf("passkeys: got %d, want 0", n)
			}
			if n := auditCount(e, "passkey.removed", id); n != 1 {
				t.Errorf("audit rows passkey.removed: got %d, want 1", n)
			}
			if !hasEvent(e, contracts.PasskeyRemoved{UserID: id, ActorID: id, Name: "Phone in pocket"}) {
				t.Errorf("events: got %v, want PasskeyRemoved", e.Events.All())
			}
			if m, ok := e.Email.Last(addr); !ok || !strings.Contains(m.Subject, "passkey was removed") || strings.Contains(m.Text, "administrator") {
				t.Errorf("last email: got %q %q, want the removal notice", m.Subject, m.Text)
			}
			if res := c.Post("/account/manage/passkeys/"+pid+"/delete", nil); res.Status != http.StatusNotFound {
				t.Errorf("delete again: got %d, want 404", res.Status)
			}
		})
	})
}

func TestPasskeyAdminAndDeletion(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		const addr = "ana@example.com"
		_, key := signedUpWithPasskey(t, e, addr)
		id := userID(t, e, addr)
		pid := passkeyIDs(t, e, id)[0]
		if _, err := e.App.Users.CreateUser(t.Context(), "root@example.com", password, true); err != nil {
			t.Fatal(err)
		}
		ac := e.NewClient()
		ac.Login("root@example.com", password)

		t.Run("admin", func(t *testing.T) {
			tab := ac.Get("/admin/users/" + id + "/edit?tab=security")
			if name, _ := apptest.TestID(tab.Body, "admin-passkey-name"); name != "My laptop" {
				t.Errorf("security tab: got passkey %q, want My laptop", name)
			}
			confirm := ac.Get("/admin/users/" + id + "/edit?tab=security&confirm=passkey&passkey=" + pid)
			if !strings.Contains(confirm.Body, `data-testid="delete-passkey-confirm"`) {
				t.Errorf("confirmation: want the confirm button")
			}
			res := ac.Post("/admin/users/"+id+"/passkeys/"+pid+"/delete", nil)
			if res.Status != http.StatusSeeOther {
				t.Fatalf("admin delete: got %d, want 303; %s", res.Status, apptest.Excerpt(res.Body))
			}
			if n := len(passkeyIDs(t, e, id)); n != 0 {
				t.Errorf("passkeys: got %d, want 0", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'passkey.removed' AND subject_id = $1 AND actor_id <> $1`, id); n != 1 {
				t.Errorf("audit rows by the admin: got %d, want 1", n)
			}
			if m, ok := e.Email.Last(addr); !ok || !strings.Contains(m.Text, "by an administrator") {
				t.Errorf("last email: got %q, want the removal by an administrator", m.Text)
			}
			if res := ac.Post("/admin/users/"+id+"/passkeys/"+pid+"/delete", nil); res.Status != http.StatusNotFound {
				t.Errorf("delete again: got %d, want 404", res.Status)
			}
			c := e.NewClient()
			if res := passkeySignIn(t, e, c, key, ""); res.Status != http.StatusBadRequest {
				t.Errorf("sign in with the deleted passkey: got %d, want 400", res.Status)
			}
		})

		t.Run("account deletion", func(t *testing.T) {
			c := e.NewClient()
			c.Login(addr, password)
			addPasskey(t, e, c, newSoftKey(t, "localhost", e.URL), "")
			res := c.Post("/account/manage/delete-account", apptest.Form("password", password))
			if res.Status != http.StatusSeeOther {
				t.Fatalf("delete account: got %d; %s", res.Status, apptest.Excerpt(res.Body))
			}
			for _, table := range []string{"passkeys", "passkey_users", "passkey_challenges"} {
				if n := e.Count(`SELECT COUNT(*) FROM `+table+` WHERE user_id = $1`, id); n != 0 {
					t.Errorf("%s after deletion: got %d rows, want 0", table, n)
				}
			}
		})
	})
}
