package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// signedIn creates an account (an administrator when admin) with a
// confirmed email and returns a client signed in to it.
func signedIn(t *testing.T, e *apptest.Env, addr string, admin bool) *apptest.Client {
	t.Helper()
	if _, err := e.App.Users.CreateUser(context.Background(), addr, password, admin); err != nil {
		t.Fatalf("create %s: %v", addr, err)
	}
	c := e.NewClient()
	c.Login(addr, password)
	return c
}

// wantErrorPage fails unless res is the styled error page with status and
// a link home (and, for a signed-in visitor, to their account).
func wantErrorPage(t *testing.T, res *apptest.Response, status int, signedIn bool) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status: got %d, want %d; body: %s", res.Status, status, apptest.Excerpt(res.Body))
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type: got %q, want text/html", ct)
	}
	if _, ok := apptest.TestID(res.Body, "error-heading"); !ok {
		t.Errorf("no heading (data-testid=error-heading) in %s", apptest.Excerpt(res.Body))
	}
	if !strings.Contains(res.Body, `href="/" data-testid="error-home"`) {
		t.Errorf("no link home on the error page")
	}
	if got := strings.Contains(res.Body, `href="/account/manage" data-testid="error-manage"`); got != signedIn {
		t.Errorf("link to /account/manage: got %v, want %v (signed in: %v)", got, signedIn, signedIn)
	}
	if !strings.Contains(res.Body, `href="/static/app.css"`) {
		t.Errorf("the error page does not use the layout")
	}
}

func TestNotFoundPage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		anon := e.NewClient()
		ann := signedIn(t, e, "ann@example.com", false)

		tests := []struct {
			name     string
			c        *apptest.Client
			path     string
			signedIn bool
		}{
			{name: "anonymous", c: anon, path: "/no-such-page", signedIn: false},
			{name: "signed in", c: ann, path: "/no-such-page", signedIn: true},
			{name: "under a module's prefix", c: ann, path: "/account/manage/no-such-tab", signedIn: true},
			{name: "admin route shape with extra segment", c: anon, path: "/admin/users/x/edit/more", signedIn: false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := tt.c.Get(tt.path)
				wantErrorPage(t, res, http.StatusNotFound, tt.signedIn)
				if got, _ := apptest.TestID(res.Body, "error-heading"); got != "Page not found" {
					t.Errorf("heading: got %q, want %q", got, "Page not found")
				}
			})
		}
	})
}

func TestMethodNotAllowedPage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := signedIn(t, e, "ann@example.com", false)

		tests := []struct {
			name      string
			method    string
			path      string
			wantAllow string
		}{
			{name: "POST to a page that only shows", method: http.MethodPost, path: "/account/manage/phone", wantAllow: "GET, HEAD"},
			{name: "DELETE of a form page", method: http.MethodDelete, path: "/account/login", wantAllow: "GET, HEAD, POST"},
			{name: "PUT of a POST-only route", method: http.MethodPut, path: "/account/manage/confirm-phone-number", wantAllow: "POST"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(tt.method, e.URL+tt.path, strings.NewReader("a=b"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				res := ann.Do(req)
				wantErrorPage(t, res, http.StatusMethodNotAllowed, true)
				if got := res.Header.Get("Allow"); got != tt.wantAllow {
					t.Errorf("Allow: got %q, want %q", got, tt.wantAllow)
				}
			})
		}
	})
}

// TestGetOfPostRouteRedirects: after a 422 the address bar keeps a POST
// route's address, so a reload or a typed Enter sends a GET; it goes back
// to the page the form belongs to.
func TestGetOfPostRouteRedirects(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		bob, err := e.App.Users.CreateUser(context.Background(), "bob@example.com", password, false)
		if err != nil {
			t.Fatal(err)
		}
		c := signedIn(t, e, "admin@example.com", true)

		// The reported case: a wrong code answers 422 at the POST's address.
		if res := c.Post("/account/manage/confirm-phone-number", apptest.Form("phone_number", "+14155550132", "code", "000000")); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code: got %d, want 422", res.Status)
		}

		tests := []struct {
			path string
			want string
		}{
			{path: "/account/manage/send-phone-verification-code", want: "/account/manage/phone"},
			{path: "/account/manage/confirm-phone-number", want: "/account/manage/phone"},
			{path: "/account/manage/remove-phone-number", want: "/account/manage/phone"},
			{path: "/account/logout", want: "/"},
			{path: "/admin/users/" + bob.ID + "/lock", want: "/admin/users/" + bob.ID + "/edit"},
			{path: "/admin/users/" + bob.ID + "/force-phone-reverify", want: "/admin/users/" + bob.ID + "/edit"},
		}
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				res := c.Get(tt.path)
				if res.Status != http.StatusSeeOther || res.Header.Get("Location") != tt.want {
					t.Errorf("GET %s: got %d to %q, want 303 to %q", tt.path, res.Status, res.Header.Get("Location"), tt.want)
				}
			})
		}
		apptest.WantSignedIn(t, c, true)
	})
}

// TestEveryPostOnlyRouteHasAPage: a GET of any POST-only route, new ones
// included, lands on a page rather than a 405.
func TestEveryPostOnlyRouteHasAPage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := signedIn(t, e, "admin@example.com", true)
		hasGet := map[string]bool{}
		var posts []string
		for _, reg := range e.App.Registries() {
			for _, rt := range reg.Routes {
				method, path, _ := strings.Cut(rt.Pattern, " ")
				path = patternWildcard.ReplaceAllString(path, "some-id")
				switch method {
				case http.MethodGet:
					hasGet[path] = true
				case http.MethodPost:
					posts = append(posts, path)
				}
			}
		}
		for _, path := range posts {
			if hasGet[path] {
				continue
			}
			t.Run(path, func(t *testing.T) {
				res := c.Get(path)
				if res.Status != http.StatusSeeOther {
					t.Errorf("GET %s: got %d, want 303 to its page", path, res.Status)
				}
			})
		}
	})
}

func TestServerErrorPageShowsRequestID(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := signedIn(t, e, "ann@example.com", false)
		// With the database gone, loading the session fails: a 500.
		e.App.DB.Close()

		res := ann.Get("/account/manage")
		if res.Status != http.StatusInternalServerError {
			t.Fatalf("status: got %d, want 500; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(res.Body, `href="/" data-testid="error-home"`) {
			t.Errorf("got %q without the styled page's link home, want the styled 500 page", res.Header.Get("Content-Type"))
		}
		id, ok := apptest.TestID(res.Body, "request-id")
		if !ok || len(id) != 16 {
			t.Fatalf("request id on the page: got %q, want the 16 hex digits of the request", id)
		}
		if !strings.Contains(e.Log.String(), "request_id="+id) {
			t.Errorf("request id %s is not in the log, so a user's quote finds nothing", id)
		}
		if strings.Contains(res.Body, "sql") || strings.Contains(res.Body, "closed") {
			t.Errorf("the page shows internal details: %s", apptest.Excerpt(res.Body))
		}
	})
}
