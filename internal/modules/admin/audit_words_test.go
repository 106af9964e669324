package admin_test

import (
	"html"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// The audit trail speaks words (issue 14, item 13): actions as sentences,
// not codes; the user's own actions, sign-up included, by "self"; an
// administrator's by their email; numbers in international format.
func TestAdminAuditTrailInWords(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, _, ac := startWithAdmin(t, db)
		const dana = "dana@example.com"
		c := e.NewClient()
		c.Register(dana, testPW) // self-registration: no actor id is recorded
		verifyPhone(t, e, c, "(415) 555-0132", bobPhone)
		var id string
		if err := e.App.DB.QueryRow(`SELECT id FROM users WHERE email = $1`, dana).Scan(&id); err != nil {
			t.Fatal(err)
		}
		adminPost(t, ac, id, "force-phone-reverify", http.StatusSeeOther)

		res := ac.Get(editPath(id, "security"))
		if res.Status != http.StatusOK {
			t.Fatalf("security tab: got %d, want 200", res.Status)
		}
		rows, texts := auditRows(res.Body), auditTexts(res.Body)
		want := map[string][2]string{ // code → (words, actor)
			"user.registered":             {"Signed up", "self"},
			"phone.code_sent":             {"Phone verification code sent", "self"},
			"phone.confirmed":             {"Phone number verified", "self"},
			"phone.reverification_forced": {"Phone re-verification forced", adminEmail},
		}
		for i, row := range rows {
			w, ok := want[row[0]]
			if !ok {
				continue
			}
			delete(want, row[0])
			if texts[i] != w[0] || row[1] != w[1] {
				t.Errorf("%s: shown as %q by %q, want %q by %q", row[0], texts[i], row[1], w[0], w[1])
			}
		}
		for code := range want {
			t.Errorf("audit trail lacks %s; rows %v", code, rows)
		}
		if slices.Contains(rows, [2]string{"user.registered", "system"}) {
			t.Error(`self-registration is shown "By: system"`)
		}
		// No code is shown as text: each lives in its row's data-action only.
		table := html.UnescapeString(res.Body[strings.Index(res.Body, `data-testid="audit-trail"`):])
		visible := strings.NewReplacer(`data-action="phone.reverification_forced"`, "", `data-action="phone.confirmed"`, "").Replace(table)
		for _, code := range []string{"phone.reverification_forced", "phone.confirmed"} {
			if strings.Contains(visible, code) {
				t.Errorf("the audit table shows the raw code %s", code)
			}
		}
		if !strings.Contains(table, "+1 415-555-0132") || strings.Contains(visible, ">"+bobPhone+"<") {
			t.Errorf("audit details: want the number as +1 415-555-0132, not %s", bobPhone)
		}
	})
}
