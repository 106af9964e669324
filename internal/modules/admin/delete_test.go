package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

func TestAdminDeletesUser(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)

		// Two steps: the Details tab offers the button, which asks to confirm.
		details := ac.Get(editPath(bob.ID, "details"))
		if _, ok := apptest.TestID(details.Body, "delete-user"); !ok {
			t.Fatal("bob's Details tab: no Delete account button")
		}
		if strings.Contains(details.Body, `data-testid="delete-confirm"`) {
			t.Error("bob's Details tab: the confirmation shows before it is asked for")
		}
		confirm := ac.Get(editPath(bob.ID, "details") + "&confirm=delete")
		if _, ok := apptest.TestID(confirm.Body, "delete-confirm"); !ok || !strings.Contains(confirm.Body, `action="/admin/users/`+bob.ID+`/delete"`) {
			t.Fatal("confirm=delete: no confirmation form posting to /delete")
		}

		res := ac.Post("/admin/users/"+bob.ID+"/delete", url.Values{})
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/admin/users" {
			t.Fatalf("POST delete: got %d to %q, want 303 to /admin/users: %s", res.Status, res.Header.Get("Location"), apptest.Excerpt(res.Body))
		}
		list := ac.Get("/admin/users")
		if flash, _ := apptest.TestID(list.Body, "flash"); !strings.Contains(flash, bobEmail) || !strings.Contains(flash, "deleted") {
			t.Errorf("flash after delete: got %q, want it to say %s was deleted", flash, bobEmail)
		}
		if strings.Contains(strings.ReplaceAll(list.Body, "<wbr>", ""), ">"+bobEmail+"<") {
			t.Error("bob is still in the user list")
		}
		if res := ac.Get(editPath(bob.ID, "details")); res.Status != http.StatusNotFound {
			t.Errorf("bob's page after delete: got %d, want 404", res.Status)
		}
		apptest.WantSignedIn(t, bc, false)
		if res := e.NewClient().SubmitLogin(bobEmail, testPW); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("bob's sign-in after delete: got %d, want 422", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE id = $1`, bob.ID) + e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, bob.ID); n != 0 {
			t.Errorf("rows of bob in users and sessions: got %d, want 0", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.deleted' AND actor_id = $1`, admin.ID); n != 1 {
			t.Errorf("user.deleted audit rows by the admin: got %d, want 1", n)
		}
		if got := eventsOf[contracts.AccountDeleted](e); len(got) != 1 || got[0].UserID != bob.ID || got[0].ActorID != admin.ID {
			t.Errorf("AccountDeleted events: got %+v, want one for bob by the admin", got)
		}
		// Deleting again: the user is gone.
		if res := ac.Post("/admin/users/"+bob.ID+"/delete", url.Values{}); res.Status != http.StatusNotFound {
			t.Errorf("POST delete of a deleted user: got %d, want 404", res.Status)
		}
	})
}

func TestAdminCannotDeleteThemselves(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		// Another administrator exists, so only the self rule refuses.
		carol := createUser(t, e, carolEmail)
		if err := e.App.Users.Admin().SetAdmin(context.Background(), admin.ID, carol.ID, true, ""); err != nil {
			t.Fatal(err)
		}

		for _, path := range []string{editPath(admin.ID, "details"), editPath(admin.ID, "details") + "&confirm=delete"} {
			page := ac.Get(path)
			if _, ok := apptest.TestID(page.Body, "self-delete-note"); !ok {
				t.Errorf("%s: no note that one's own account cannot be deleted here", path)
			}
			for _, id := range []string{"delete-user", "delete-confirm"} {
				if strings.Contains(page.Body, `data-testid="`+id+`"`) {
					t.Errorf("%s: offers %s on one's own account", path, id)
				}
			}
		}
		res := ac.Post("/admin/users/"+admin.ID+"/delete", url.Values{})
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("POST delete oneself: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "your own account") {
			t.Errorf("delete oneself: got %q, want it to say one's own account", msg)
		}
		if res := ac.Get("/admin/users"); res.Status != http.StatusOK {
			t.Errorf("admin after refused self-delete: got %d, want 200", res.Status)
		}
		if got := eventsOf[contracts.AccountDeleted](e); len(got) != 0 {
			t.Errorf("AccountDeleted events: got %+v, want none", got)
		}

		// Another administrator may delete this one; then carol is the last
		// administrator, whose account nobody deletes.
		cc := signedIn(e, carolEmail)
		if res := cc.Post("/admin/users/"+admin.ID+"/delete", url.Values{}); res.Status != http.StatusSeeOther {
			t.Fatalf("carol deletes the other admin: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
		}
		bob := createUser(t, e, bobEmail)
		if err := e.App.Users.Admin().Delete(context.Background(), bob.ID, carol.ID, ""); !errors.Is(err, contracts.ErrLastAdmin) {
			t.Errorf("delete the last admin: got %v, want ErrLastAdmin", err)
		}
		apptest.WantSignedIn(t, cc, true)
	})
}
