package app_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	adminEmail = "admin@example.com"
	bobEmail   = "bob@example.com"
	carolEmail = "carol@example.com"
	testPW     = "password123"
	bobPhone   = "+14155550132"
)

// startWithAdmin starts the app, creates an administrator and returns a
// client signed in as them.
func startWithAdmin(t *testing.T, db string) (*apptest.Env, contracts.User, *apptest.Client) {
	t.Helper()
	e := apptest.Start(t, db, nil)
	admin, err := e.App.Users.CreateUser(context.Background(), adminEmail, testPW, true)
	if err != nil {
		t.Fatalf("create admin: %v", err)
	}
	c := e.NewClient()
	c.Login(adminEmail, testPW)
	return e, admin, c
}

// createUser creates a user with a confirmed email who is not an admin.
func createUser(t *testing.T, e *apptest.Env, addr string) contracts.User {
	t.Helper()
	u, err := e.App.Users.CreateUser(context.Background(), addr, testPW, false)
	if err != nil {
		t.Fatalf("create %s: %v", addr, err)
	}
	return u
}

// signedIn returns a client signed in as addr.
func signedIn(e *apptest.Env, addr string) *apptest.Client {
	c := e.NewClient()
	c.Login(addr, testPW)
	return c
}

// verifyPhone proves number for the user behind c with a code.
func verifyPhone(t *testing.T, e *apptest.Env, c *apptest.Client, input, number string) {
	t.Helper()
	res := c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {input}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("send code: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
	}
	res = c.Post("/account/manage/confirm-phone-number", url.Values{"phone_number": {number}, "code": {e.LastCode(number)}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("confirm code: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
	}
}

func editPath(id, tab string) string { return "/admin/users/" + id + "/edit?tab=" + tab }

// wantTestID fails unless the element data-testid=id in body reads want.
func wantTestID(t *testing.T, body, id, want string) {
	t.Helper()
	got, ok := apptest.TestID(body, id)
	if !ok {
		t.Errorf("%s: not found on page: %s", id, apptest.Excerpt(body))
		return
	}
	if got = html.UnescapeString(got); got != want {
		t.Errorf("%s: got %q, want %q", id, got, want)
	}
}

// adminPost submits an admin action and fails unless it answers want; on a
// 303 it checks the redirect to the Security tab and returns the page it
// leads to, with its flash.
func adminPost(t *testing.T, c *apptest.Client, id, action string, want int) *apptest.Response {
	t.Helper()
	res := c.Post("/admin/users/"+id+"/"+action, url.Values{})
	if res.Status != want {
		t.Fatalf("POST %s: got %d, want %d: %s", action, res.Status, want, apptest.Excerpt(res.Body))
	}
	if want != http.StatusSeeOther {
		return res
	}
	if loc := res.Header.Get("Location"); loc != editPath(id, "security") {
		t.Fatalf("POST %s: got Location %q, want %q", action, loc, editPath(id, "security"))
	}
	page := c.Get(res.Header.Get("Location"))
	if _, ok := apptest.TestID(page.Body, "flash"); !ok {
		t.Errorf("POST %s: no flash on the page it redirects to", action)
	}
	return page
}

// eventsOf returns the recorded events of type T.
func eventsOf[T any](e *apptest.Env) []T {
	var out []T
	for _, ev := range e.Events.All() {
		if v, ok := ev.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// rowFor returns the part of a users list holding the row of addr.
func rowFor(t *testing.T, body, addr string) string {
	t.Helper()
	for _, row := range strings.Split(body, `data-testid="user-row"`)[1:] {
		if end := strings.Index(row, "</tr>"); end >= 0 {
			row = row[:end]
		}
		if strings.Contains(row, ">"+addr+"<") {
			return row
		}
	}
	t.Fatalf("no row for %s in the user list", addr)
	return ""
}

func countRows(body string) int { return strings.Count(body, `data-testid="user-row"`) }

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
		wantTestID(t, row, "phone-number", bobPhone)
		wantTestID(t, row, "phone-status", "Verified")
		wantTestID(t, row, "lock-state", "No")
		row = rowFor(t, res.Body, carolEmail)
		wantTestID(t, row, "email-status", "Unverified")
		wantTestID(t, row, "phone-number", "+447400123456")
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
		wantTestID(t, res.Body, "phone-number", bobPhone)
		wantTestID(t, res.Body, "phone-status", "Verified")
		wantTestID(t, res.Body, "roles", "None")
		wantTestID(t, ac.Get(editPath(admin.ID, "details")).Body, "roles", contracts.RoleAdmin)

		res = ac.Get(editPath(bob.ID, "security"))
		if res.Status != http.StatusOK {
			t.Fatalf("security: got %d, want 200", res.Status)
		}
		wantTestID(t, res.Body, "email-status", "Verified")
		wantTestID(t, res.Body, "phone-number", bobPhone)
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

func TestAdminLockUnlock(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)

		res := adminPost(t, ac, admin.ID, "lock", http.StatusUnprocessableEntity)
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "own account") {
			t.Errorf("self-lock message: got %q, want it to mention your own account", msg)
		}
		if res := ac.Get("/admin/users"); res.Status != http.StatusOK {
			t.Fatalf("admin after refused self-lock: got %d, want 200", res.Status)
		}

		page := adminPost(t, ac, bob.ID, "lock", http.StatusSeeOther)
		wantTestID(t, page.Body, "lock-state", "Locked by an administrator")
		if res := bc.Get("/account/manage"); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login") {
			t.Errorf("bob's session after lock: got %d to %q, want 303 to sign in", res.Status, res.Header.Get("Location"))
		}
		if n := e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, bob.ID); n != 0 {
			t.Errorf("bob's sessions after lock: got %d, want 0", n)
		}
		res = e.NewClient().Post("/account/login", url.Values{"email": {bobEmail}, "password": {testPW}})
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("locked sign-in: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "locked") {
			t.Errorf("locked sign-in message: got %q, want it to say locked", msg)
		}
		wantTestID(t, rowFor(t, ac.Get("/admin/users").Body, bobEmail), "lock-state", "Locked by an administrator")
		adminPost(t, ac, bob.ID, "lock", http.StatusUnprocessableEntity)

		page = adminPost(t, ac, bob.ID, "unlock", http.StatusSeeOther)
		wantTestID(t, page.Body, "lock-state", "Can sign in")
		signedIn(e, bobEmail)
		adminPost(t, ac, bob.ID, "unlock", http.StatusUnprocessableEntity)

		// Unlock also lifts a lockout after failed sign-ins.
		carol := createUser(t, e, carolEmail)
		for range 5 {
			e.NewClient().Post("/account/login", url.Values{"email": {carolEmail}, "password": {"wrong-password"}})
		}
		if res := e.NewClient().Post("/account/login", url.Values{"email": {carolEmail}, "password": {testPW}}); res.Status != http.StatusTooManyRequests {
			t.Fatalf("carol after 5 failures: got %d, want 429", res.Status)
		}
		res = ac.Get(editPath(carol.ID, "security"))
		if state, _ := apptest.TestID(res.Body, "lock-state"); !strings.HasPrefix(state, "Locked out until") {
			t.Errorf("carol lock state: got %q, want Locked out until …", state)
		}
		adminPost(t, ac, carol.ID, "unlock", http.StatusSeeOther)
		signedIn(e, carolEmail)

		locked, unlocked := eventsOf[contracts.UserLocked](e), eventsOf[contracts.UserUnlocked](e)
		if want := []contracts.UserLocked{{UserID: bob.ID, ActorID: admin.ID}}; !slices.Equal(locked, want) {
			t.Errorf("UserLocked events: got %+v, want %+v", locked, want)
		}
		if want := []contracts.UserUnlocked{{UserID: bob.ID, ActorID: admin.ID}, {UserID: carol.ID, ActorID: admin.ID}}; !slices.Equal(unlocked, want) {
			t.Errorf("UserUnlocked events: got %+v, want %+v", unlocked, want)
		}
	})
}

func TestAdminForcePhoneReverification(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)
		verifyPhone(t, e, bc, "(415) 555-0132", bobPhone)
		emailsBefore := e.Email.Count()

		page := adminPost(t, ac, bob.ID, "force-phone-reverify", http.StatusSeeOther)
		wantTestID(t, page.Body, "phone-number", bobPhone)
		wantTestID(t, page.Body, "phone-status", "Unverified")
		wantTestID(t, page.Body, "email-status", "Verified")

		res := bc.Get("/account/manage/phone")
		if res.Status != http.StatusOK {
			t.Fatalf("bob's phone page: got %d, want 200 (bob should stay signed in)", res.Status)
		}
		wantTestID(t, res.Body, "phone-number", bobPhone)
		wantTestID(t, res.Body, "phone-status", "Unverified")
		if _, ok := apptest.TestID(bc.Get("/account/manage").Body, "verify-phone-link"); !ok {
			t.Error("bob's profile does not prompt him to verify his number again")
		}

		if got := e.Email.Count() - emailsBefore; got != 1 {
			t.Errorf("emails sent: got %d, want 1", got)
		}
		m, _ := e.Email.Last(bobEmail)
		if m.Subject != "Please verify your phone number again" {
			t.Errorf("email subject: got %q, want %q", m.Subject, "Please verify your phone number again")
		}
		if got := e.LastLink(bobEmail); got != "/account/manage/phone" {
			t.Errorf("email link: got %q, want /account/manage/phone", got)
		}
		want := []contracts.PhoneReverificationForced{{UserID: bob.ID, ActorID: admin.ID, PhoneNumber: bobPhone}}
		if got := eventsOf[contracts.PhoneReverificationForced](e); !slices.Equal(got, want) {
			t.Errorf("events: got %+v, want %+v", got, want)
		}

		res = adminPost(t, ac, bob.ID, "force-phone-reverify", http.StatusUnprocessableEntity)
		if _, ok := apptest.TestID(res.Body, "form-error"); !ok {
			t.Error("forcing an unverified number again: no form error")
		}

		// Bob proves the same number again once his resend cooldown (which
		// follows his last send, not the withdrawn code) has passed.
		e.Clock.Advance(61 * time.Second)
		verifyPhone(t, e, bc, bobPhone, bobPhone)
		res = bc.Get("/account/manage/phone")
		wantTestID(t, res.Body, "phone-status", "Verified")
		wantTestID(t, ac.Get(editPath(bob.ID, "security")).Body, "phone-status", "Verified")

		// No number: refused. Unconfirmed email: no message.
		carol := createUser(t, e, carolEmail)
		res = adminPost(t, ac, carol.ID, "force-phone-reverify", http.StatusUnprocessableEntity)
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "no phone number") {
			t.Errorf("no number: got %q, want it to say no phone number", msg)
		}
		dc := e.NewClient()
		dc.Register("dave@example.com", testPW)
		verifyPhone(t, e, dc, "+1 212 555 0188", "+12125550188")
		adminPost(t, ac, mustUserID(t, ac, "dave@example.com"), "force-phone-reverify", http.StatusSeeOther)
		for _, m := range e.Email.Messages() {
			if m.To == "dave@example.com" && strings.Contains(m.Subject, "phone") {
				t.Errorf("email to an unconfirmed address: %q", m.Subject)
			}
		}
	})
}

var userLinkRE = regexp.MustCompile(`href="/admin/users/([^/"]+)/edit"`)

// mustUserID finds addr's id through the admin search.
func mustUserID(t *testing.T, ac *apptest.Client, addr string) string {
	t.Helper()
	res := ac.Get("/admin/users?q=" + url.QueryEscape(addr))
	m := userLinkRE.FindStringSubmatch(rowFor(t, res.Body, addr))
	if m == nil {
		t.Fatalf("no edit link for %s", addr)
	}
	return m[1]
}

func TestAdminForceEmailReverification(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)

		page := adminPost(t, ac, bob.ID, "force-reverify", http.StatusSeeOther)
		wantTestID(t, page.Body, "email-status", "Unverified")
		res := bc.Get("/account/manage/email")
		if res.Status != http.StatusOK {
			t.Fatalf("bob's email page: got %d, want 200", res.Status)
		}
		wantTestID(t, res.Body, "email", bobEmail)
		wantTestID(t, res.Body, "email-status", "Unverified")
		m, _ := e.Email.Last(bobEmail)
		if m.Subject != "Please verify your email address again" {
			t.Errorf("email subject: got %q, want %q", m.Subject, "Please verify your email address again")
		}
		if got := e.LastLink(bobEmail); got != "/account/manage/email" {
			t.Errorf("email link: got %q, want /account/manage/email", got)
		}
		want := []contracts.EmailReverificationForced{{UserID: bob.ID, ActorID: admin.ID, Email: bobEmail}}
		if got := eventsOf[contracts.EmailReverificationForced](e); !slices.Equal(got, want) {
			t.Errorf("events: got %+v, want %+v", got, want)
		}
		adminPost(t, ac, bob.ID, "force-reverify", http.StatusUnprocessableEntity)

		// Bob can still sign in, asks for a new link and confirms.
		bc = signedIn(e, bobEmail)
		res = bc.Post("/account/manage/email", url.Values{"action": {"resend"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("resend: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
		}
		link := e.LastLink(bobEmail)
		if !strings.HasPrefix(link, "/account/confirm-email?") {
			t.Fatalf("resend link: got %q, want /account/confirm-email?…", link)
		}
		if res := bc.Get(link); res.Status != http.StatusOK {
			t.Fatalf("confirm link: got %d, want 200: %s", res.Status, apptest.Excerpt(res.Body))
		}
		wantTestID(t, bc.Get("/account/manage/email").Body, "email-status", "Verified")
		wantTestID(t, ac.Get(editPath(bob.ID, "security")).Body, "email-status", "Verified")
	})
}

// auditRows returns (action, actor) for each audit row on a security tab.
func auditRows(body string) [][2]string {
	var out [][2]string
	for _, row := range strings.Split(body, `data-testid="audit-entry"`)[1:] {
		action, _ := apptest.TestID(row, "audit-action")
		actor, _ := apptest.TestID(row, "audit-actor")
		out = append(out, [2]string{action, actor})
	}
	return out
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
		if !slices.Contains(rows, [2]string{"phone.confirmed", bobEmail}) {
			t.Errorf("audit trail: got %v, want bob's own phone.confirmed with bob as actor", rows)
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

var wildcardRE = regexp.MustCompile(`\{[^}]*\}`)

// TestAdminAuthorizationMatrix enumerates every registered /admin route, so
// a new admin route cannot skip the check: anonymous visitors are sent to
// sign in and signed-in non-admins get 403.
func TestAdminAuthorizationMatrix(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, _, ac := startWithAdmin(t, db)
		target := createUser(t, e, bobEmail)
		carol := createUser(t, e, carolEmail)
		anon, member := e.NewClient(), signedIn(e, carolEmail)

		patterns := web.Patterns("/admin", e.App.Registries()...)
		for _, want := range []string{
			"GET /admin/users", "GET /admin/users/{id}/edit", "POST /admin/users/{id}/force-reverify",
			"POST /admin/users/{id}/force-phone-reverify", "POST /admin/users/{id}/lock", "POST /admin/users/{id}/unlock",
		} {
			if !slices.Contains(patterns, want) {
				t.Errorf("route %q is not registered (SPEC §3); registered: %v", want, patterns)
			}
		}
		request := func(c *apptest.Client, method, path string) *apptest.Response {
			req, err := http.NewRequest(method, e.URL+path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			return c.Do(req)
		}
		for _, p := range patterns {
			method, path, ok := strings.Cut(p, " ")
			if !ok { // a pattern without a method answers every method
				method, path = http.MethodGet, p
			}
			path = strings.ReplaceAll(path, "{$}", "")
			path = wildcardRE.ReplaceAllString(path, target.ID)
			t.Run(p, func(t *testing.T) {
				res := request(anon, method, path)
				loc := res.Header.Get("Location")
				if res.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/account/login?return_url=") {
					t.Errorf("anonymous %s %s: got %d to %q, want 303 to /account/login?return_url=…", method, path, res.Status, loc)
				} else if u, err := url.Parse(loc); err != nil || !strings.HasPrefix(u.Query().Get("return_url"), "/admin/") {
					t.Errorf("anonymous %s %s: return_url in %q does not lead back to the admin area", method, path, loc)
				}
				res = request(member, method, path)
				if res.Status != http.StatusForbidden {
					t.Errorf("non-admin %s %s: got %d, want 403", method, path, res.Status)
				}
				if _, ok := apptest.TestID(res.Body, "forbidden"); !ok {
					t.Errorf("non-admin %s %s: no forbidden page", method, path)
				}
				if method == http.MethodGet {
					if res := request(ac, method, path); res.Status != http.StatusOK {
						t.Errorf("admin %s %s: got %d, want 200", method, path, res.Status)
					}
				}
			})
		}
		// Nothing the refused requests asked for happened.
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE actor_id = $1`, carol.ID); n != 0 {
			t.Errorf("audit rows by the non-admin: got %d, want 0", n)
		}
		u, err := e.App.Users.Admin().Get(context.Background(), target.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.LockedByAdmin || !u.EmailConfirmed {
			t.Errorf("target after refused requests: locked=%v emailConfirmed=%v, want unlocked and confirmed", u.LockedByAdmin, u.EmailConfirmed)
		}
		if got := len(eventsOf[contracts.UserLocked](e)) + len(eventsOf[contracts.EmailReverificationForced](e)); got != 0 {
			t.Errorf("admin events after refused requests: got %d, want 0", got)
		}
	})
}

func TestAdminSendPasswordReset(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)

		page := ac.Get(editPath(bob.ID, "security") + "&confirm=reset")
		if !strings.Contains(page.Body, `data-testid="reset-confirm"`) {
			t.Fatal("the confirmation step for the reset link is missing")
		}
		before := e.Email.Count()
		page = adminPost(t, ac, bob.ID, "send-password-reset", http.StatusSeeOther)
		if got := e.Email.Count() - before; got != 1 {
			t.Fatalf("emails: got %d, want 1", got)
		}
		if m, _ := e.Email.Last(bobEmail); m.Subject != "Reset your SimpleModule password" {
			t.Errorf("subject: got %q", m.Subject)
		}
		rows := auditRows(page.Body)
		if len(rows) == 0 || rows[0] != [2]string{"password.reset_sent", adminEmail} {
			t.Errorf("newest audit row: got %v, want [password.reset_sent %s]", rows, adminEmail)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'password.reset_sent' AND actor_id = $1 AND subject_id = $2`, admin.ID, bob.ID); n != 1 {
			t.Errorf("audit rows naming the admin: got %d, want 1", n)
		}

		// The old password still works until Bob uses the link; then the new one does.
		signedIn(e, bobEmail)
		link := e.LastLink(bobEmail)
		u, _ := url.Parse(link)
		c := e.NewClient()
		res := c.Post("/account/reset-password", url.Values{"userId": {u.Query().Get("userId")}, "code": {u.Query().Get("code")},
			"password": {"brand-new-pw"}, "confirm_password": {"brand-new-pw"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("reset: got %d: %s", res.Status, apptest.Excerpt(res.Body))
		}
		c.Login(bobEmail, "brand-new-pw")
	})
}
