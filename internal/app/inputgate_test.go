package app_test

import (
	"cmp"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// gateFields are the form fields and query parameters any route reads (a
// superset: a route ignores the ones it does not read, and the gate must
// refuse a bad value whichever field carries it).
var gateFields = []string{
	"email", "password", "confirm_password", "current_password", "new_password", "new_email",
	"display_name", "phone_number", "code", "q", "userId", "return_url", "remember_me", "action",
	"tab", "page", "audit_page", "remove",
}

// badInputs are what PostgreSQL refuses in text (SQLSTATE 22021) and no
// person types, percent-encoded as a client sends them.
var badInputs = []struct {
	name    string
	encoded string
}{
	{name: "NUL", encoded: "%00"},
	{name: "invalid UTF-8", encoded: "%ff"},
}

var patternWildcard = regexp.MustCompile(`\{[^}$]*\}`)

// TestInputGateEveryRoute sends NUL and invalid UTF-8 in every path id,
// query parameter and form field to every registered route, as a signed-in
// administrator (so every handler would be reached): the answer is 400
// (path, query) or 422 (form), never a 500, nothing is logged as an error,
// and nothing is stored.
func TestInputGateEveryRoute(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		bob, err := e.App.Users.CreateUser(context.Background(), "bob@example.com", password, false)
		if err != nil {
			t.Fatal(err)
		}
		c := signedIn(t, e, "admin@example.com", true)
		before := storedState(e)

		send := func(method, target, body string) *apptest.Response {
			req, err := http.NewRequest(method, e.URL+target, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			return c.Do(req)
		}
		check := func(t *testing.T, what string, res *apptest.Response, want int) {
			t.Helper()
			if res.Status != want {
				t.Errorf("%s: got %d, want %d; body: %s", what, res.Status, want, apptest.Excerpt(res.Body))
				return
			}
			if !strings.Contains(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(res.Body, `data-testid="error-page"`) {
				t.Errorf("%s: got %q without the error page, want the styled error page", what, res.Header.Get("Content-Type"))
			}
		}

		var patterns []string
		for _, reg := range e.App.Registries() {
			for _, rt := range reg.Routes {
				patterns = append(patterns, rt.Pattern)
			}
		}
		if len(patterns) < 20 {
			t.Fatalf("got %d registered routes, want the whole application", len(patterns))
		}
		// Signing out last keeps the administrator signed in for every
		// other route, should the gate let a request through.
		signsOut := func(pattern string) int {
			if strings.HasSuffix(pattern, "/logout") {
				return 1
			}
			return 0
		}
		slices.SortStableFunc(patterns, func(a, b string) int { return cmp.Compare(signsOut(a), signsOut(b)) })
		for _, pattern := range patterns {
			method, path, _ := strings.Cut(pattern, " ")
			path = strings.ReplaceAll(path, "{$}", "")
			for _, bad := range badInputs {
				t.Run(pattern+"/"+bad.name, func(t *testing.T) {
					valid := patternWildcard.ReplaceAllString(path, bob.ID)
					if wild := patternWildcard.ReplaceAllString(path, "vic"+bad.encoded+"tim"); wild != path {
						check(t, "path id", send(method, wild, formBody("")), http.StatusBadRequest)
					}
					for _, f := range gateFields {
						body := ""
						if method == http.MethodPost {
							body = formBody("")
						}
						check(t, "query "+f, send(method, valid+"?"+f+"=vic"+bad.encoded+"tim", body), http.StatusBadRequest)
						if method == http.MethodPost {
							check(t, "form "+f, send(method, valid, formBody(f+"=vic"+bad.encoded+"tim")), http.StatusUnprocessableEntity)
						}
					}
				})
			}
		}
		if got := storedState(e); got != before {
			t.Errorf("stored state changed:\n got %s\nwant %s", got, before)
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE display_name <> ''`); n != 0 {
			t.Errorf("display names set: got %d, want 0", n)
		}
		apptest.WantSignedIn(t, c, true)
		if log := e.Log.String(); strings.Contains(log, "level=ERROR") {
			t.Errorf("the log holds an error, want none:\n%s", errorLines(log))
		}
		if !strings.Contains(e.Log.String(), "input refused") {
			t.Errorf("no refusal was logged, want a warning per refused request")
		}
		for line := range strings.SplitSeq(e.Log.String(), "\n") {
			if strings.Contains(line, "input refused") && (strings.Contains(line, `\x00`) || strings.Contains(line, `\xff`)) {
				t.Errorf("a refusal logs the refused value, want only where and the field's name: %s", line)
				break
			}
		}
	})
}

// TestInputGateExamples are the review's own requests, one by one.
func TestInputGateExamples(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := signedIn(t, e, "ann@example.com", false)

		tests := []struct {
			name   string
			do     func() *apptest.Response
			status int
		}{
			{name: "login email with NUL", status: http.StatusUnprocessableEntity, do: func() *apptest.Response {
				return e.NewClient().Post("/account/login", apptest.Form("email", "ann\x00@example.com", "password", password))
			}},
			{name: "confirm-email userId %ff", status: http.StatusBadRequest, do: func() *apptest.Response {
				return e.NewClient().Get("/account/confirm-email?userId=%ff&code=abc")
			}},
			{name: "display name with invalid UTF-8", status: http.StatusUnprocessableEntity, do: func() *apptest.Response {
				return ann.Post("/account/manage", apptest.Form("display_name", "Ann \xff", "phone_number", ""))
			}},
			{name: "display name with NUL", status: http.StatusUnprocessableEntity, do: func() *apptest.Response {
				return ann.Post("/account/manage", apptest.Form("display_name", "Ann\x00", "phone_number", ""))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := tt.do()
				if res.Status != tt.status {
					t.Fatalf("got %d, want %d; body: %s", res.Status, tt.status, apptest.Excerpt(res.Body))
				}
				if got, ok := apptest.TestID(res.Body, "error-message"); !ok || got == "" {
					t.Errorf("error message: got %q, want a sentence", got)
				}
			})
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE display_name <> ''`); n != 0 {
			t.Errorf("display names stored: got %d, want 0", n)
		}
		// A clean display name still goes through the gate and is stored.
		if res := ann.Post("/account/manage", apptest.Form("display_name", "Ann Île", "phone_number", "")); res.Status != http.StatusSeeOther {
			t.Fatalf("clean display name: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE display_name = $1`, "Ann Île"); n != 1 {
			t.Errorf("clean display name stored: got %d rows, want 1", n)
		}
		if strings.Contains(e.Log.String(), "level=ERROR") {
			t.Errorf("the log holds an error, want none:\n%s", errorLines(e.Log.String()))
		}
	})
}

// formBody is a form with every gate field filled with a valid value,
// then extra (already encoded) appended, so a handler would get as far as
// it can with valid input.
func formBody(extra string) string {
	var b strings.Builder
	for i, f := range gateFields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(f + "=x")
	}
	if extra != "" {
		b.WriteString("&" + extra)
	}
	return b.String()
}

// storedState summarises what requests can store, to compare before and after.
func storedState(e *apptest.Env) string {
	var b strings.Builder
	for _, table := range []string{"users", "sessions", "audit_log", "outbox", "user_tokens", "phone_codes", "rate_events", "user_roles"} {
		b.WriteString(table + "=" + strconv.Itoa(e.Count(`SELECT COUNT(*) FROM `+table)) + " ")
	}
	b.WriteString("phones=" + strconv.Itoa(e.Count(`SELECT COUNT(*) FROM users WHERE phone_number IS NOT NULL`)))
	b.WriteString(" locked=" + strconv.Itoa(e.Count(`SELECT COUNT(*) FROM users WHERE locked_by_admin`)))
	return b.String()
}

func errorLines(log string) string {
	var out []string
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
