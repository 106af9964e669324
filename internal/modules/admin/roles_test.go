package admin_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// rolesPost grants or revokes Admin on the Roles tab and fails unless it
// answers want; on a 303 it checks the way back to the Roles tab and
// returns that page, with its flash.
func rolesPost(t *testing.T, c *apptest.Client, id, action string, want int) *apptest.Response {
	t.Helper()
	return postAction(t, c, id, action, "roles", want)
}

func TestAdminGrantsAndRevokesAdmin(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)

		// Nobody's own roles: no button on one's own tab, and the action is refused.
		own := ac.Get(editPath(admin.ID, "roles"))
		if own.Status != http.StatusOK {
			t.Fatalf("own Roles tab: got %d, want 200", own.Status)
		}
		if _, ok := apptest.TestID(own.Body, "self-role-note"); !ok {
			t.Error("own Roles tab: no note that one's own roles cannot be changed")
		}
		for _, button := range []string{"grant-admin", "revoke-admin"} {
			if strings.Contains(own.Body, `data-testid="`+button+`"`) {
				t.Errorf("own Roles tab offers %s", button)
			}
		}
		res := rolesPost(t, ac, admin.ID, "revoke-admin", http.StatusUnprocessableEntity)
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "your own roles") {
			t.Errorf("own revoke: got %q, want it to say one's own roles cannot change", msg)
		}
		if res := ac.Get("/admin/users"); res.Status != http.StatusOK {
			t.Fatalf("admin after refused self-revoke: got %d, want 200", res.Status)
		}

		page := ac.Get(editPath(bob.ID, "roles"))
		wantTestID(t, page.Body, "admin-role", "No")
		if _, ok := apptest.TestID(page.Body, "grant-admin"); !ok {
			t.Fatal("bob's Roles tab: no Make administrator button")
		}
		if res := bc.Get("/admin/users"); res.Status != http.StatusForbidden {
			t.Fatalf("bob before the grant: got %d, want 403", res.Status)
		}
		page = rolesPost(t, ac, bob.ID, "grant-admin", http.StatusSeeOther)
		wantTestID(t, page.Body, "admin-role", "Yes")
		wantTestID(t, page.Body, "roles", contracts.RoleAdmin)
		if _, ok := apptest.TestID(page.Body, "revoke-admin"); !ok {
			t.Error("bob's Roles tab after the grant: no Revoke Admin button")
		}
		// At once, in the session bob already has.
		if res := bc.Get("/admin/users"); res.Status != http.StatusOK {
			t.Errorf("bob after the grant: got %d, want 200", res.Status)
		}
		list := ac.Get("/admin/users").Body
		for _, addr := range []string{adminEmail, bobEmail} {
			wantTestID(t, rowFor(t, list, addr), "admin-marker", "Admin")
		}

		page = rolesPost(t, ac, bob.ID, "revoke-admin", http.StatusSeeOther)
		wantTestID(t, page.Body, "admin-role", "No")
		if res := bc.Get("/admin/users"); res.Status != http.StatusForbidden {
			t.Errorf("bob after the revoke: got %d, want 403", res.Status)
		}
		if strings.Contains(rowFor(t, ac.Get("/admin/users").Body, bobEmail), "admin-marker") {
			t.Error("user list: Admin marker for bob after the revoke")
		}

		want := []contracts.RoleChanged{
			{UserID: bob.ID, ActorID: admin.ID, Role: contracts.RoleAdmin, Granted: true},
			{UserID: bob.ID, ActorID: admin.ID, Role: contracts.RoleAdmin, Granted: false},
		}
		if got := eventsOf[contracts.RoleChanged](e); !slices.Equal(got, want) {
			t.Errorf("RoleChanged events: got %+v, want %+v", got, want)
		}
		sec := ac.Get(editPath(bob.ID, "security")).Body
		for _, action := range []string{"role.granted", "role.revoked"} {
			if !slices.Contains(auditRows(sec), [2]string{action, adminEmail}) {
				t.Errorf("bob's audit trail: no %s by %s; rows %v", action, adminEmail, auditRows(sec))
			}
		}

		// The last administrator keeps the role whoever asks (here the
		// command line, the only one who can ask when one admin is left).
		if err := e.App.Users.Admin().SetAdmin(context.Background(), "", admin.ID, false, ""); !errors.Is(err, contracts.ErrLastAdmin) {
			t.Errorf("revoke the last admin: got %v, want ErrLastAdmin", err)
		}
		if res := ac.Get("/admin/users"); res.Status != http.StatusOK {
			t.Errorf("last admin after the refused revoke: got %d, want 200", res.Status)
		}
	})
}
