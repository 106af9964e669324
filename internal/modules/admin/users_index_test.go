package admin_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

func TestAdminUsersListAndSearch(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, _, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		verifyPhone(t, e, signedIn(e, bobEmail), "(415) 555-0132", bobPhone)
		carol := e.NewClient()
		carol.Register(carolEmail, testPW)
		res := carol.Post("/account/manage", url.Values{"display_name": {"Carol Danvers"}, "phone_number": {"+44 7400 123456"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("carol profile: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
		}

		res = ac.Get("/admin/users")
		if res.Status != http.StatusOK {
			t.Fatalf("GET /admin/users: got %d, want 200", res.Status)
		}
		wantTestID(t, res.Body, "user-count", "3")
		if !strings.Contains(res.Body, `href="/admin/users/`+bob.ID+`/edit"`) {
			t.Errorf("bob's row does not link to /admin/users/%s/edit", bob.ID)
		}
		row := rowFor(t, res.Body, bobEmail)
		wantTestID(t, row, "email-status", "Verified")
		wantNumber(t, row, bobPhone)
		wantTestID(t, row, "phone-status", "Verified")
		wantTestID(t, row, "lock-state", "No")
		row = rowFor(t, res.Body, carolEmail)
		wantTestID(t, row, "email-status", "Unverified")
		wantNumber(t, row, "+447400123456")
		wantTestID(t, row, "phone-status", "Unverified")

		tests := []struct {
			name  string
			q     string
			want  []string
			avoid []string
		}{
			{name: "email, any case", q: "BOB@", want: []string{bobEmail}, avoid: []string{carolEmail, adminEmail}},
			{name: "display name", q: "danvers", want: []string{carolEmail}, avoid: []string{bobEmail}},
			{name: "phone digits", q: "7400 123", want: []string{carolEmail}, avoid: []string{bobEmail}},
			{name: "phone as typed nationally", q: "(415) 555-0132", want: []string{bobEmail}, avoid: []string{carolEmail}},
			{name: "phone in E.164", q: "+1415", want: []string{bobEmail}, avoid: []string{carolEmail}},
			{name: "every user", q: "example.com", want: []string{adminEmail, bobEmail, carolEmail}},
			{name: "no match", q: "nobody", avoid: []string{adminEmail, bobEmail, carolEmail}},
			{name: "LIKE wildcard taken literally", q: "%", avoid: []string{adminEmail, bobEmail, carolEmail}},
			{name: "underscore taken literally", q: "b_b", avoid: []string{bobEmail}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := ac.Get("/admin/users?q=" + url.QueryEscape(tt.q))
				if res.Status != http.StatusOK {
					t.Fatalf("got %d, want 200", res.Status)
				}
				wantTestID(t, res.Body, "user-count", strconv.Itoa(len(tt.want)))
				if got := countRows(res.Body); got != len(tt.want) {
					t.Errorf("rows: got %d, want %d", got, len(tt.want))
				}
				// Only the table: the layout shows the admin's own email too.
				_, table, _ := strings.Cut(res.Body, `data-testid="user-table"`)
				table = strings.ReplaceAll(table, "<wbr>", "") // break hints in long addresses
				for _, addr := range tt.want {
					if !strings.Contains(table, ">"+addr+"<") {
						t.Errorf("%s missing", addr)
					}
				}
				for _, addr := range tt.avoid {
					if strings.Contains(table, ">"+addr+"<") {
						t.Errorf("%s listed, want it filtered out", addr)
					}
				}
				if len(tt.want) == 0 {
					if _, ok := apptest.TestID(res.Body, "no-users"); !ok {
						t.Error("no 'No users match' message")
					}
				}
			})
		}

		t.Run("paging", func(t *testing.T) {
			for i := range 22 {
				createUser(t, e, "user"+strconv.Itoa(i)+"@example.org")
			}
			res := ac.Get("/admin/users")
			wantTestID(t, res.Body, "user-count", "25")
			if got := countRows(res.Body); got != 20 {
				t.Errorf("page 1 rows: got %d, want 20", got)
			}
			if !strings.Contains(res.Body, `href="/admin/users?page=2"`) {
				t.Error("page 1 has no link to page 2")
			}
			res = ac.Get("/admin/users?page=2")
			if got := countRows(res.Body); got != 5 {
				t.Errorf("page 2 rows: got %d, want 5", got)
			}
			res = ac.Get("/admin/users?q=example.org&page=2")
			if got := countRows(res.Body); got != 2 {
				t.Errorf("search page 2 rows: got %d, want 2", got)
			}
		})
	})
}
