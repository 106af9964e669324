package users_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// The Users module's tests run the whole application through HTTP against a
// real database (see apptest): SQLite always, PostgreSQL when configured.

const (
	password    = "correct horse 1"
	newPassword = "battery staple 2"
)

// responseCookie returns the cookie name set by res.
func responseCookie(res *apptest.Response, name string) (*http.Cookie, bool) {
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// flashAfter follows the redirect res with c and returns the flash message
// shown on the page it leads to.
func flashAfter(t *testing.T, c *apptest.Client, res *apptest.Response) string {
	t.Helper()
	loc := res.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location header (status %d)", res.Status)
	}
	page := c.Get(loc)
	flash, ok := apptest.TestID(page.Body, "flash")
	if !ok {
		t.Fatalf("GET %s: no flash message; body: %s", loc, apptest.Excerpt(page.Body))
	}
	return flash
}

// userID returns the id of the account with addr.
func userID(t *testing.T, e *apptest.Env, addr string) string {
	t.Helper()
	var id string
	if err := e.App.DB.QueryRow(`SELECT id FROM users WHERE normalized_email = $1`, strings.ToLower(addr)).Scan(&id); err != nil {
		t.Fatalf("user %s: %v", addr, err)
	}
	return id
}

// auditCount counts the audit rows of action about the user subject.
func auditCount(e *apptest.Env, action, subject string) int {
	return e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = $1 AND subject_id = $2`, action, subject)
}

// hasEvent reports whether ev was published.
func hasEvent(e *apptest.Env, ev any) bool {
	return slices.Contains(e.Events.All(), ev)
}

// retryAfter parses the Retry-After header in seconds (-1 when absent or bad).
func retryAfter(res *apptest.Response) int {
	n, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil {
		return -1
	}
	return n
}
