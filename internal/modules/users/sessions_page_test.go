package users_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// User-Agent headers of the browsers the tests sign in with.
const (
	uaFirefoxWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaChromeAndroid  = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	uaSafariIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// userAgent sends every request with a fixed User-Agent, as one browser does.
type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.next.RoundTrip(r)
}

// browser returns a fresh client that calls itself ua.
func browser(e *apptest.Env, ua string) *apptest.Client {
	c := e.NewClient()
	c.HTTP.Transport = userAgent{ua: ua, next: http.DefaultTransport}
	return c
}

// sessionRow is one data-testid="session" row of the sessions page.
type sessionRow struct {
	ID, Browser, IP, SignedIn, LastSeen string
	Current, Revocable                  bool
}

var (
	rowRE      = regexp.MustCompile(`(?s)<section class="card" data-testid="session"(.*?)</section>`)
	rowIDRE    = regexp.MustCompile(`data-session-id="([^"]*)"`)
	fieldRE    = regexp.MustCompile(`(?s)data-testid="(session-[a-z-]+)"[^>]*>(.*?)</(?:span|dd)>`)
	tagRE      = regexp.MustCompile(`<[^>]*>`)
	sessionsPg = "/account/manage/sessions"
)

// sessionRows opens the sessions page with c and reads its rows.
func sessionRows(t *testing.T, c *apptest.Client) []sessionRow {
	t.Helper()
	res := c.Get(sessionsPg)
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", sessionsPg, res.Status)
	}
	var rows []sessionRow
	for _, m := range rowRE.FindAllStringSubmatch(res.Body, -1) {
		r := sessionRow{Current: strings.Contains(m[1], `data-current="true"`), Revocable: strings.Contains(m[1], `data-testid="revoke-session"`)}
		if id := rowIDRE.FindStringSubmatch(m[1]); id != nil {
			r.ID = id[1]
		}
		if r.Current != strings.Contains(m[1], "This device") {
			t.Errorf("row %s: data-current %v but \"This device\" shown %v", r.ID, r.Current, !r.Current)
		}
		for _, f := range fieldRE.FindAllStringSubmatch(m[1], -1) {
			text := strings.TrimSpace(tagRE.ReplaceAllString(f[2], ""))
			switch f[1] {
			case "session-browser":
				r.Browser = text
			case "session-ip":
				r.IP = text
			case "session-signed-in":
				r.SignedIn = text
			case "session-last-seen":
				r.LastSeen = text
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// rowBy returns the row showing browser.
func rowBy(t *testing.T, rows []sessionRow, browser string) sessionRow {
	t.Helper()
	for _, r := range rows {
		if r.Browser == browser {
			return r
		}
	}
	t.Fatalf("no session of %q in %+v", browser, rows)
	return sessionRow{}
}

func TestSessionsPageListsEachBrowser(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		firefox := browser(e, uaFirefoxWindows)
		firefox.Register("ann@example.com", password)
		signedIn := e.Clock.Now()
		e.Clock.Advance(5 * time.Minute)
		android := browser(e, uaChromeAndroid)
		android.Login("ann@example.com", password)
		browser(e, uaSafariIPhone).Register("bob@example.com", password) // someone else's

		rows := sessionRows(t, firefox)
		if len(rows) != 2 {
			t.Fatalf("sessions listed: got %d (%+v), want 2", len(rows), rows)
		}
		ff := rowBy(t, rows, "Firefox on Windows")
		ch := rowBy(t, rows, "Chrome on Android")
		if !ff.Current || ch.Current {
			t.Errorf("current: Firefox %v, Chrome %v; want only Firefox (the browser asking)", ff.Current, ch.Current)
		}
		if ff.Revocable || !ch.Revocable {
			t.Errorf("sign-out buttons: Firefox %v, Chrome %v; want only on the other session", ff.Revocable, ch.Revocable)
		}
		for _, r := range rows {
			if r.IP != "127.0.0.1" {
				t.Errorf("%s: IP %q, want 127.0.0.1", r.Browser, r.IP)
			}
			if r.ID == "" {
				t.Errorf("%s: no session id", r.Browser)
			}
		}
		if want := signedIn.UTC().Format("2006-01-02 15:04 UTC"); ff.SignedIn != want {
			t.Errorf("Firefox signed in: got %q, want %q", ff.SignedIn, want)
		}
		// The same list from the other browser marks that one instead.
		other := sessionRows(t, android)
		if !rowBy(t, other, "Chrome on Android").Current || rowBy(t, other, "Firefox on Windows").Current {
			t.Errorf("from Chrome: current marks %+v, want Chrome only", other)
		}
		// The page never shows a token or its hash.
		var hash string
		if err := e.App.DB.QueryRow(`SELECT id_hash FROM sessions WHERE user_agent = $1`, uaFirefoxWindows).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if body := firefox.Get(sessionsPg).Body; strings.Contains(body, hash) {
			t.Error("the sessions page shows a session's token hash")
		}
	})
}

func TestRevokeSessionEndsItAtOnce(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		firefox := browser(e, uaFirefoxWindows)
		firefox.Register("ann@example.com", password)
		android := browser(e, uaChromeAndroid)
		android.Login("ann@example.com", password)
		apptest.WantSignedIn(t, android, true)
		uid := userID(t, e, "ann@example.com")

		target := rowBy(t, sessionRows(t, firefox), "Chrome on Android")
		res := firefox.Post(sessionsPg+"/"+target.ID+"/revoke", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("revoke: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if got, want := flashAfter(t, firefox, res), "The session has been signed out."; got != want {
			t.Errorf("flash: got %q, want %q", got, want)
		}
		apptest.WantSignedIn(t, android, false)
		apptest.WantSignedIn(t, firefox, true)
		if rows := sessionRows(t, firefox); len(rows) != 1 || !rows[0].Current {
			t.Errorf("sessions after revoking: got %+v, want only the current one", rows)
		}
		if n := auditCount(e, "session.revoked", uid); n != 1 {
			t.Errorf("session.revoked audit rows: got %d, want 1", n)
		}
		if !hasEvent(e, contracts.SessionsRevoked{UserID: uid, ActorID: uid}) {
			t.Error("no SessionsRevoked event")
		}
		// The same id again names no session any more.
		if res := firefox.Post(sessionsPg+"/"+target.ID+"/revoke", nil); res.Status != http.StatusNotFound {
			t.Errorf("revoking it again: got %d, want 404", res.Status)
		}
	})
}

func TestRevokeOtherSessionsKeepsTheCurrentOne(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		firefox := browser(e, uaFirefoxWindows)
		firefox.Register("ann@example.com", password)
		others := []*apptest.Client{browser(e, uaChromeAndroid), browser(e, uaSafariIPhone)}
		for _, c := range others {
			c.Login("ann@example.com", password)
		}
		bob := e.NewClient()
		bob.Register("bob@example.com", password)
		uid := userID(t, e, "ann@example.com")

		res := firefox.Post(sessionsPg+"/revoke-others", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("revoke others: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		apptest.WantSignedIn(t, firefox, true)
		for _, c := range others {
			apptest.WantSignedIn(t, c, false)
		}
		apptest.WantSignedIn(t, bob, true) // another user's session is untouched
		if rows := sessionRows(t, firefox); len(rows) != 1 || rows[0].Browser != "Firefox on Windows" || !rows[0].Current {
			t.Errorf("sessions left: got %+v, want the current Firefox one", rows)
		}
		if n := auditCount(e, "sessions.revoked_others", uid); n != 1 {
			t.Errorf("sessions.revoked_others audit rows: got %d, want 1", n)
		}
	})
}

func TestAnotherUsersSessionCannotBeRevoked(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := browser(e, uaFirefoxWindows)
		ann.Register("ann@example.com", password)
		bob := browser(e, uaChromeAndroid)
		bob.Register("bob@example.com", password)
		bobs := sessionRows(t, bob)
		if len(bobs) != 1 {
			t.Fatalf("bob's sessions: got %d, want 1", len(bobs))
		}

		tests := []struct{ name, id string }{
			{name: "another user's session", id: bobs[0].ID},
			{name: "no such session", id: "00000000-0000-0000-0000-000000000000"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := ann.Post(sessionsPg+"/"+tt.id+"/revoke", nil)
				if res.Status != http.StatusNotFound {
					t.Errorf("got %d, want 404", res.Status)
				}
				if msg, _ := apptest.TestID(res.Body, "form-error"); msg != "That session has already ended." {
					t.Errorf("message: got %q", msg)
				}
			})
		}
		apptest.WantSignedIn(t, bob, true)
		apptest.WantSignedIn(t, ann, true)
		if n := e.Count(`SELECT COUNT(*) FROM sessions`); n != 2 {
			t.Errorf("sessions: got %d, want 2 (nothing ended)", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'session.revoked'`); n != 0 {
			t.Errorf("session.revoked audit rows: got %d, want 0", n)
		}
	})
}

func TestSessionsCrossOriginPostRefused(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := browser(e, uaFirefoxWindows)
		ann.Register("ann@example.com", password)
		other := browser(e, uaChromeAndroid)
		other.Login("ann@example.com", password)
		id := rowBy(t, sessionRows(t, ann), "Chrome on Android").ID
		for _, path := range []string{sessionsPg + "/revoke-others", sessionsPg + "/" + id + "/revoke"} {
			req, _ := http.NewRequest(http.MethodPost, e.URL+path, nil)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if res := ann.Do(req); res.Status != http.StatusForbidden {
				t.Errorf("cross-origin POST %s: got %d, want 403", path, res.Status)
			}
		}
		apptest.WantSignedIn(t, other, true)
	})
}

// lastSeen reads the user's sessions through the Admin contract (which
// writes pending last-seen times first) and returns the only one's.
func lastSeen(t *testing.T, e *apptest.Env, uid string) time.Time {
	t.Helper()
	list, err := e.App.Users.Admin().Sessions(context.Background(), uid)
	if err != nil || len(list) != 1 {
		t.Fatalf("admin sessions: got %d, %v; want 1", len(list), err)
	}
	return list[0].LastSeenAt
}

func TestLastSeenAtMostOnceAMinute(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ann@example.com", password)
		uid := userID(t, e, "ann@example.com")
		start := e.Clock.Now()

		steps := []struct {
			name    string
			advance time.Duration
			want    time.Duration // last seen, after start
		}{
			{name: "signed in: last seen is the sign-in", advance: 0, want: 0},
			{name: "30 s later: not written again", advance: 30 * time.Second, want: 0},
			{name: "61 s after sign-in: written", advance: 31 * time.Second, want: 61 * time.Second},
			{name: "30 s after that: not written", advance: 30 * time.Second, want: 61 * time.Second},
			{name: "59 s after that: not written", advance: 29 * time.Second, want: 61 * time.Second},
			{name: "a minute after that: written", advance: 2 * time.Second, want: 122 * time.Second},
		}
		for _, st := range steps {
			e.Clock.Advance(st.advance)
			apptest.WantSignedIn(t, c, true) // one request of the session
			if got, want := lastSeen(t, e, uid), start.Add(st.want); !got.Equal(want) {
				t.Errorf("%s: last seen %s, want %s", st.name, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
			}
		}
		// The page shows it for the other sessions ("Now" for this one).
		other := e.NewClient()
		other.Login("ann@example.com", password)
		e.Clock.Advance(2 * time.Minute)
		apptest.WantSignedIn(t, c, true)
		want := e.Clock.Now().UTC().Format("2006-01-02 15:04 UTC")
		for _, r := range sessionRows(t, other) {
			if !r.Current && r.LastSeen != want {
				t.Errorf("page: last seen %q, want %q", r.LastSeen, want)
			}
		}
	})
}

func TestAdminSessionsAndSignOutEverywhere(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ctx := context.Background()
		admin := e.App.Users.Admin()
		a := browser(e, uaFirefoxWindows)
		a.Register("ann@example.com", password)
		b := browser(e, uaSafariIPhone)
		b.Login("ann@example.com", password)
		bob := e.NewClient()
		bob.Register("bob@example.com", password)
		uid, actor := userID(t, e, "ann@example.com"), userID(t, e, "bob@example.com")

		list, err := admin.Sessions(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("admin sessions: got %d, want 2", len(list))
		}
		browsers := map[string]bool{}
		for _, s := range list {
			browsers[s.Browser] = true
			if s.Current || s.ID == "" || s.IP != "127.0.0.1" || !s.ExpiresAt.After(s.CreatedAt) {
				t.Errorf("admin session %+v: want an id, IP 127.0.0.1, not current, expiry after start", s)
			}
		}
		if !browsers["Firefox on Windows"] || !browsers["Safari on iPhone"] {
			t.Errorf("browsers: got %v", browsers)
		}

		if err := admin.SignOutEverywhere(ctx, actor, uid, "192.0.2.7"); err != nil {
			t.Fatal(err)
		}
		apptest.WantSignedIn(t, a, false)
		apptest.WantSignedIn(t, b, false)
		apptest.WantSignedIn(t, bob, true)
		if list, err := admin.Sessions(ctx, uid); err != nil || len(list) != 0 {
			t.Errorf("sessions after signing out everywhere: got %d, %v; want none", len(list), err)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'sessions.signed_out_everywhere' AND subject_id = $1 AND actor_id = $2 AND client_ip = '192.0.2.7'`, uid, actor); n != 1 {
			t.Errorf("audit rows with the admin as actor: got %d, want 1", n)
		}
		if !hasEvent(e, contracts.SessionsRevoked{UserID: uid, ActorID: actor}) {
			t.Error("no SessionsRevoked event with the admin as actor")
		}

		if _, err := admin.Sessions(ctx, "no-such-user"); !errors.Is(err, contracts.ErrNotFound) {
			t.Errorf("sessions of an unknown user: got %v, want ErrNotFound", err)
		}
		if err := admin.SignOutEverywhere(ctx, actor, "no-such-user", ""); !errors.Is(err, contracts.ErrNotFound) {
			t.Errorf("signing out an unknown user: got %v, want ErrNotFound", err)
		}
	})
}
