package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

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
			// SPEC §10.
			"GET /admin/users/new", "POST /admin/users/new", "POST /admin/users/{id}/sign-out-everywhere",
			"POST /admin/users/{id}/grant-admin", "POST /admin/users/{id}/revoke-admin", "POST /admin/users/{id}/delete",
			// SPEC §9.
			"POST /admin/users/{id}/passkeys/{pid}/delete",
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
		if n := e.Count(`SELECT COUNT(*) FROM users`); n != 3 {
			t.Errorf("users after refused requests: got %d, want 3 (none invited, none deleted)", n)
		}
		if u.HasRole(contracts.RoleAdmin) {
			t.Errorf("target after refused requests: roles %v, want no Admin", u.Roles)
		}
		if got := len(eventsOf[contracts.UserLocked](e)) + len(eventsOf[contracts.EmailReverificationForced](e)) + len(eventsOf[contracts.UserInvited](e)); got != 0 {
			t.Errorf("admin events after refused requests: got %d, want 0", got)
		}
	})
}
