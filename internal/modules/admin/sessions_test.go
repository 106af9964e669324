package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

func TestAdminSessionsTab(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		phone, laptop := signedIn(e, bobEmail), signedIn(e, bobEmail)

		page := ac.Get(editPath(bob.ID, "sessions"))
		if page.Status != http.StatusOK {
			t.Fatalf("sessions tab: got %d, want 200", page.Status)
		}
		if n := strings.Count(page.Body, `data-testid="session"`); n != 2 {
			t.Errorf("sessions listed: got %d, want 2", n)
		}
		if !strings.Contains(page.Body, "127.0.0.1") {
			t.Error("sessions tab: no client IP")
		}
		if _, ok := apptest.TestID(page.Body, "sign-out-everywhere"); !ok {
			t.Fatal("sessions tab: no Sign out everywhere button")
		}

		page = postAction(t, ac, bob.ID, "sign-out-everywhere", "sessions", http.StatusSeeOther)
		if _, ok := apptest.TestID(page.Body, "no-sessions"); !ok || strings.Contains(page.Body, `data-testid="session"`) {
			t.Error("sessions tab after sign out everywhere: sessions still listed")
		}
		apptest.WantSignedIn(t, phone, false)
		apptest.WantSignedIn(t, laptop, false)
		if n := e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, bob.ID); n != 0 {
			t.Errorf("bob's sessions: got %d, want 0", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND actor_id = $2 AND action = 'sessions.signed_out_everywhere'`, bob.ID, admin.ID); n != 1 {
			t.Errorf("audit rows: got %d, want 1 sessions.signed_out_everywhere by the admin", n)
		}
		// Bob can sign in again; the admin stayed signed in throughout.
		signedIn(e, bobEmail)
		apptest.WantSignedIn(t, ac, true)
	})
}
