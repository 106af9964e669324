package admin_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
)

// The Admin module's tests run the whole application through HTTP (see
// apptest): an administrator signs in and acts on other accounts.

const (
	adminEmail = "admin@example.com"
	bobEmail   = "bob@example.com"
	carolEmail = "carol@example.com"
	testPW     = apptest.Password
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
	return postAction(t, c, id, action, "security", want)
}

// postAction submits an admin action and fails unless it answers want; on a
// 303 it checks the redirect to tab and returns the page it leads to, with
// its flash.
func postAction(t *testing.T, c *apptest.Client, id, action, tab string, want int) *apptest.Response {
	t.Helper()
	res := c.Post("/admin/users/"+id+"/"+action, url.Values{})
	if res.Status != want {
		t.Fatalf("POST %s: got %d, want %d: %s", action, res.Status, want, apptest.Excerpt(res.Body))
	}
	if want != http.StatusSeeOther {
		return res
	}
	if loc := res.Header.Get("Location"); loc != editPath(id, tab) {
		t.Fatalf("POST %s: got Location %q, want %q", action, loc, editPath(id, tab))
	}
	page := c.Get(res.Header.Get("Location"))
	if _, ok := apptest.TestID(page.Body, "flash"); !ok {
		t.Errorf("POST %s: no flash on the %s tab it redirects to", action, tab)
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
		// Long addresses carry <wbr> break hints.
		if strings.Contains(strings.ReplaceAll(row, "<wbr>", ""), ">"+addr+"<") {
			return row
		}
	}
	t.Fatalf("no row for %s in the user list", addr)
	return ""
}

func countRows(body string) int { return strings.Count(body, `data-testid="user-row"`) }

var auditActionRE = regexp.MustCompile(`data-testid="audit-action" data-action="([^"]*)"`)

// auditRows returns (action code, actor shown) for each audit row on a
// security tab. The code is the row's data-action; the words shown for it
// are auditTexts'.
func auditRows(body string) [][2]string {
	var out [][2]string
	for _, row := range strings.Split(body, `data-testid="audit-entry"`)[1:] {
		var action string
		if m := auditActionRE.FindStringSubmatch(row); m != nil {
			action = html.UnescapeString(m[1])
		}
		actor, _ := apptest.TestID(row, "audit-actor")
		out = append(out, [2]string{action, html.UnescapeString(actor)})
	}
	return out
}

// auditTexts returns the action as shown (in words) for each audit row.
func auditTexts(body string) []string {
	var out []string
	for _, row := range strings.Split(body, `data-testid="audit-entry"`)[1:] {
		words, _ := apptest.TestID(row, "audit-action")
		out = append(out, html.UnescapeString(words))
	}
	return out
}

var e164AttrRE = regexp.MustCompile(`data-testid="phone-number" data-e164="([^"]*)"`)

// wantNumber fails the test unless the page's first phone-number element
// holds e164 in its data-e164 and shows it in international format.
func wantNumber(t *testing.T, body, e164 string) {
	t.Helper()
	m := e164AttrRE.FindStringSubmatch(body)
	if m == nil {
		t.Errorf("phone-number: no data-e164 on page: %s", apptest.Excerpt(body))
		return
	}
	if got := html.UnescapeString(m[1]); got != e164 {
		t.Errorf("phone-number data-e164: got %q, want %q", got, e164)
	}
	want := phone.FormatInternational(e164)
	if want == e164 {
		t.Fatalf("%s has no international format", e164)
	}
	wantTestID(t, body, "phone-number", want)
}
