package admin_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

func TestAdminEditTabsShowBadges(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		verifyPhone(t, e, signedIn(e, bobEmail), "(415) 555-0132", bobPhone)

		res := ac.Get("/admin/users/" + bob.ID + "/edit")
		if res.Status != http.StatusOK {
			t.Fatalf("details: got %d, want 200", res.Status)
		}
		if _, ok := apptest.TestID(res.Body, "details"); !ok {
			t.Error("the Details tab is not the default")
		}
		wantTestID(t, res.Body, "email", bobEmail)
		wantTestID(t, res.Body, "email-status", "Verified")
		wantNumber(t, res.Body, bobPhone)
		wantTestID(t, res.Body, "phone-status", "Verified")
		wantTestID(t, res.Body, "roles", "None")
		wantTestID(t, ac.Get(editPath(admin.ID, "details")).Body, "roles", contracts.RoleAdmin)

		res = ac.Get(editPath(bob.ID, "security"))
		if res.Status != http.StatusOK {
			t.Fatalf("security: got %d, want 200", res.Status)
		}
		wantTestID(t, res.Body, "email-status", "Verified")
		wantNumber(t, res.Body, bobPhone)
		wantTestID(t, res.Body, "phone-status", "Verified")
		wantTestID(t, res.Body, "failed-sign-ins", "0")
		wantTestID(t, res.Body, "lock-state", "Can sign in")
		for _, id := range []string{"force-email-reverify", "force-phone-reverify", "lock"} {
			if !strings.Contains(res.Body, `data-testid="`+id+`"`) {
				t.Errorf("security tab has no %s control", id)
			}
		}
		// The force actions take a confirmation step: the tab itself holds no
		// form that posts them.
		for _, action := range []string{"force-reverify", "force-phone-reverify", "lock"} {
			if strings.Contains(res.Body, `action="/admin/users/`+bob.ID+`/`+action+`"`) {
				t.Errorf("security tab posts %s without a confirmation step", action)
			}
		}
		for _, tt := range []struct{ confirm, action, button string }{
			{"email", "force-reverify", "force-email-confirm"},
			{"phone", "force-phone-reverify", "force-phone-confirm"},
			{"lock", "lock", "lock-confirm"},
		} {
			res := ac.Get(editPath(bob.ID, "security") + "&confirm=" + tt.confirm)
			if !strings.Contains(res.Body, `action="/admin/users/`+bob.ID+`/`+tt.action+`"`) || !strings.Contains(res.Body, `data-testid="`+tt.button+`"`) {
				t.Errorf("confirm=%s: no confirmation form posting to %s", tt.confirm, tt.action)
			}
		}
		res = ac.Get(editPath(admin.ID, "security"))
		if _, ok := apptest.TestID(res.Body, "self-lock-note"); !ok || strings.Contains(res.Body, `data-testid="lock"`) {
			t.Error("an admin's own security tab offers to lock themselves")
		}

		res = ac.Get("/admin/users/no-such-user/edit")
		if res.Status != http.StatusNotFound {
			t.Errorf("unknown user: got %d, want 404", res.Status)
		}
		if _, ok := apptest.TestID(res.Body, "not-found"); !ok {
			t.Error("unknown user: no not-found page")
		}
		for _, action := range []string{"force-reverify", "force-phone-reverify", "lock", "unlock"} {
			adminPost(t, ac, "no-such-user", action, http.StatusNotFound)
		}
	})
}

func TestAdminAuditTrail(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, _, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		verifyPhone(t, e, signedIn(e, bobEmail), "(415) 555-0132", bobPhone)
		for _, action := range []string{"force-phone-reverify", "force-reverify", "lock", "unlock"} {
			e.Clock.Advance(time.Second) // distinct times give a stable order
			adminPost(t, ac, bob.ID, action, http.StatusSeeOther)
		}
		rows := auditRows(ac.Get(editPath(bob.ID, "security")).Body)
		want := [][2]string{
			{"user.unlocked", adminEmail},
			{"user.locked", adminEmail},
			{"email.reverification_forced", adminEmail},
			{"phone.reverification_forced", adminEmail},
		}
		if len(rows) < len(want) || !slices.Equal(rows[:len(want)], want) {
			t.Errorf("audit trail, newest first: got %v, want it to start %v", rows, want)
		}
		if !slices.Contains(rows, [2]string{"phone.confirmed", "self"}) {
			t.Errorf("audit trail: got %v, want bob's own phone.confirmed by self", rows)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND action = 'phone.reverification_forced' AND client_ip <> ''`, bob.ID); n != 1 {
			t.Errorf("audit rows with client IP for the forced re-verification: got %d, want 1", n)
		}

		// Paged, 20 a page.
		for range 10 {
			e.Clock.Advance(time.Second)
			adminPost(t, ac, bob.ID, "lock", http.StatusSeeOther)
			adminPost(t, ac, bob.ID, "unlock", http.StatusSeeOther)
		}
		total := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1`, bob.ID)
		first := ac.Get(editPath(bob.ID, "security"))
		if got := len(auditRows(first.Body)); got != 20 {
			t.Errorf("audit page 1: got %d rows, want 20", got)
		}
		if !strings.Contains(first.Body, `data-testid="audit-next"`) {
			t.Fatal("audit page 1 has no link to older entries")
		}
		second := ac.Get(editPath(bob.ID, "security") + "&audit_page=2")
		if got := len(auditRows(second.Body)); got != total-20 {
			t.Errorf("audit page 2: got %d rows, want %d", got, total-20)
		}
	})
}
