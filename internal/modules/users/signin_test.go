package users_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Sign-in, lockout and sign-out (issue 2).

func TestLogin(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name       string
			email      string
			password   string
			wantStatus int
			wantErr    string
		}{
			{name: "correct password", email: "ann@example.com", password: password, wantStatus: http.StatusSeeOther},
			{name: "email in other case", email: " Ann@EXAMPLE.com ", password: password, wantStatus: http.StatusSeeOther},
			{name: "wrong password", email: "ann@example.com", password: password + "x", wantStatus: http.StatusUnprocessableEntity, wantErr: "Invalid email or password."},
			{name: "unknown email", email: "nobody@example.com", password: password, wantStatus: http.StatusUnprocessableEntity, wantErr: "Invalid email or password."},
			{name: "empty password", email: "ann@example.com", password: "", wantStatus: http.StatusUnprocessableEntity, wantErr: "Invalid email or password."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.NewClient()
				res := c.SubmitLogin(tt.email, tt.password)
				if res.Status != tt.wantStatus {
					t.Fatalf("got %d, want %d; body: %s", res.Status, tt.wantStatus, apptest.Excerpt(res.Body))
				}
				if tt.wantStatus == http.StatusSeeOther {
					if got := res.Header.Get("Location"); got != "/account/manage" {
						t.Errorf("Location: got %q, want /account/manage", got)
					}
					apptest.WantSignedIn(t, c, true)
					return
				}
				if got, _ := apptest.TestID(res.Body, "form-error"); got != tt.wantErr {
					t.Errorf("form-error: got %q, want %q", got, tt.wantErr)
				}
				apptest.WantSignedIn(t, c, false)
			})
		}
	})
}

func TestLoginLockout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		c := e.NewClient()

		for i := 1; i <= 4; i++ {
			if res := c.SubmitLogin("ann@example.com", "wrong password"); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("wrong password %d: got %d, want 422", i, res.Status)
			}
		}
		res := c.SubmitLogin("ann@example.com", "wrong password")
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("wrong password 5: got %d, want 429", res.Status)
		}
		if got := res.Header.Get("Retry-After"); got != "900" {
			t.Errorf("Retry-After: got %q, want 900", got)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "15 minutes") {
			t.Errorf("form-error: got %q, want it to say how long to wait (15 minutes)", msg)
		}
		if got := auditCount(e, "signin.locked_out", userID(t, e, "ann@example.com")); got != 1 {
			t.Errorf("signin.locked_out audit rows: got %d, want 1", got)
		}

		res = c.SubmitLogin("ann@example.com", password)
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("correct password while locked: got %d, want 429", res.Status)
		}
		e.Clock.Advance(14 * time.Minute)
		res = c.SubmitLogin("ann@example.com", password)
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("correct password after 14m: got %d, want 429", res.Status)
		}
		if got := res.Header.Get("Retry-After"); got != "60" {
			t.Errorf("Retry-After after 14m: got %q, want 60", got)
		}
		apptest.WantSignedIn(t, c, false)

		e.Clock.Advance(time.Minute + time.Second)
		res = c.SubmitLogin("ann@example.com", password)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("correct password after 15m1s: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		apptest.WantSignedIn(t, c, true)

		// The successful sign-in cleared the count: four more mistakes do not lock.
		other := e.NewClient()
		for i := 1; i <= 4; i++ {
			if res := other.SubmitLogin("ann@example.com", "wrong password"); res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("wrong password %d after unlock: got %d, want 422", i, res.Status)
			}
		}
		if res := other.SubmitLogin("ann@example.com", password); res.Status != http.StatusSeeOther {
			t.Errorf("correct password after 4 new mistakes: got %d, want 303", res.Status)
		}
	})
}

func TestLoginReturnURL(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name      string
			returnURL string
			want      string
		}{
			{name: "absolute URL", returnURL: "https://evil.example/", want: "/account/manage"},
			{name: "scheme-relative", returnURL: "//evil.example", want: "/account/manage"},
			{name: "backslash", returnURL: `/\evil.example`, want: "/account/manage"},
			{name: "slash backslash slash", returnURL: `/\/evil.example`, want: "/account/manage"},
			{name: "scheme with one slash", returnURL: "http:/evil", want: "/account/manage"},
			{name: "javascript", returnURL: "javascript:alert(1)", want: "/account/manage"},
			{name: "tab before slashes", returnURL: "/\t/evil.example", want: "/account/manage"},
			{name: "empty", returnURL: "", want: "/account/manage"},
			{name: "local page", returnURL: "/account/manage/phone", want: "/account/manage/phone"},
			{name: "local page with query", returnURL: "/account/manage/email?tab=1", want: "/account/manage/email?tab=1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := e.NewClient().Post("/account/login", apptest.Form("email", "ann@example.com", "password", password, "return_url", tt.returnURL))
				if res.Status != http.StatusSeeOther {
					t.Fatalf("got %d, want 303", res.Status)
				}
				if got := res.Header.Get("Location"); got != tt.want {
					t.Errorf("Location: got %q, want %q", got, tt.want)
				}
			})
		}
	})
}

func TestManageRequiresSignIn(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name         string
			path         string
			wantLocation string
		}{
			{name: "profile", path: "/account/manage", wantLocation: "/account/login?return_url=%2Faccount%2Fmanage"},
			{name: "email", path: "/account/manage/email", wantLocation: "/account/login?return_url=%2Faccount%2Fmanage%2Femail"},
			{name: "change password", path: "/account/manage/change-password", wantLocation: "/account/login?return_url=%2Faccount%2Fmanage%2Fchange-password"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.NewClient()
				res := c.Get(tt.path)
				if res.Status != http.StatusSeeOther {
					t.Fatalf("got %d, want 303", res.Status)
				}
				loc := res.Header.Get("Location")
				if loc != tt.wantLocation {
					t.Fatalf("Location: got %q, want %q", loc, tt.wantLocation)
				}
				// Signing in from there comes back to the page.
				u, _ := url.Parse(loc)
				res = c.Post("/account/login", apptest.Form("email", "ann@example.com", "password", password, "return_url", u.Query().Get("return_url")))
				if got := res.Header.Get("Location"); res.Status != http.StatusSeeOther || got != tt.path {
					t.Errorf("login: got %d to %q, want 303 to %q", res.Status, got, tt.path)
				}
			})
		}
	})
}

func TestLogout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Post("/account/register", apptest.Form("email", "ann@example.com", "password", password, "confirm_password", password))
		res := c.SubmitLogin("ann@example.com", password)
		token, ok := responseCookie(res, "sm_session")
		if !ok {
			t.Fatalf("sign-in: got no sm_session cookie, want one")
		}
		apptest.WantSignedIn(t, c, true)

		res = c.Post("/account/logout", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("logout: got %d, want 303", res.Status)
		}
		if got := res.Header.Get("Location"); got != "/account/login" {
			t.Errorf("logout Location: got %q, want /account/login", got)
		}
		if got := flashAfter(t, c, res); got != "You have been signed out." {
			t.Errorf("flash: got %q, want %q", got, "You have been signed out.")
		}
		apptest.WantSignedIn(t, c, false)

		// The server forgot the session: the old cookie no longer works.
		replay := e.NewClient()
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/account/manage", nil)
		req.AddCookie(&http.Cookie{Name: "sm_session", Value: token.Value})
		if res := replay.Do(req); res.Status != http.StatusSeeOther {
			t.Errorf("old session cookie after logout: got %d, want 303", res.Status)
		}
		if got := e.Count(`SELECT COUNT(*) FROM sessions`); got != 0 {
			t.Errorf("sessions after logout: got %d, want 0", got)
		}
	})
}

// Parallel wrong passwords cannot outrun the lockout: at most 5 attempts
// are ever checked, and the right password is refused afterwards.
func TestParallelGuessesHitTheLockout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("liv@example.com", password)
		const n = 30
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := e.NewClient().Post("/account/login", url.Values{"email": {"liv@example.com"}, "password": {"wrong-guess"}})
				mu.Lock()
				codes[res.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[http.StatusUnprocessableEntity] > 5 || codes[http.StatusTooManyRequests] < n-5 || codes[http.StatusTooManyRequests]+codes[http.StatusUnprocessableEntity] != n {
			t.Errorf("answers: got %v, want at most 5×422 and the rest 429 (5 guesses checked at most)", codes)
		}
		res := e.NewClient().Post("/account/login", url.Values{"email": {"liv@example.com"}, "password": {password}})
		if res.Status != http.StatusTooManyRequests {
			t.Errorf("right password after the burst: got %d, want 429", res.Status)
		}
	})
}

// Failed sign-ins from one network, spread over many accounts, pause
// sign-in from that network; other accounts' lockouts are not what stops it.
func TestSignInFailureCapPerNetwork(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.SignInFailuresPerIP = 5 })
		e.NewClient().Register("real@example.com", password)
		for i := range 5 { // one guess each at five accounts, some of which do not exist
			res := e.NewClient().Post("/account/login", url.Values{"email": {"user" + strconv.Itoa(i) + "@example.com"}, "password": {"Summer2026!"}})
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("guess %d: got %d, want 422", i+1, res.Status)
			}
		}
		res := e.NewClient().Post("/account/login", url.Values{"email": {"real@example.com"}, "password": {password}})
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "900" {
			t.Errorf("sign-in after 5 failures from the network: got %d Retry-After %q, want 429 and 900", res.Status, res.Header.Get("Retry-After"))
		}
		e.Clock.Advance(15*time.Minute + time.Second)
		e.NewClient().Login("real@example.com", password)
	})
}

// A parallel burst of guesses at many accounts cannot slip past the
// per-network cap: each attempt takes its slot before the password check.
func TestSignInFailureCapHoldsForABurst(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.SignInFailuresPerIP = 5 })
		const n = 30
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[int]int{}
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := e.NewClient().Post("/account/login", url.Values{"email": {"spray" + strconv.Itoa(i) + "@example.com"}, "password": {"Winter2026!"}})
				mu.Lock()
				codes[res.Status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[http.StatusUnprocessableEntity] != 5 || codes[http.StatusTooManyRequests] != n-5 {
			t.Errorf("answers: got %v, want exactly 5×422 and %d×429", codes, n-5)
		}
	})
}

// A correct password never counts as a failure, even when it cannot sign
// in yet (unconfirmed email), so confirming later is not met by a lockout.
func TestCorrectPasswordWithoutSessionIsNoFailure(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.RequireConfirmedEmail = true })
		e.NewClient().Post("/account/register", url.Values{"email": {"uma@example.com"}, "password": {password}, "confirm_password": {password}})
		for i := range 7 {
			res := e.NewClient().Post("/account/login", url.Values{"email": {"uma@example.com"}, "password": {password}})
			if res.Status != http.StatusForbidden {
				t.Fatalf("unconfirmed sign-in %d: got %d, want 403", i+1, res.Status)
			}
		}
		if res := e.NewClient().Get(e.LastLink("uma@example.com")); res.Status != http.StatusOK {
			t.Fatalf("confirm: got %d", res.Status)
		}
		e.NewClient().Login("uma@example.com", password)
	})
}

// Failures counted but never resolved (a crash between the count and the
// password check) lock the account instead of jamming it for good.
func TestLeftoverFailureCountLocksThenClears(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ivy@example.com", password)
		if _, err := e.App.DB.Exec(`UPDATE users SET failed_sign_ins = 5`); err != nil {
			t.Fatal(err)
		}
		res := e.NewClient().Post("/account/login", url.Values{"email": {"ivy@example.com"}, "password": {password}})
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "900" {
			t.Errorf("with 5 leftover failures: got %d Retry-After %q, want 429 and 900", res.Status, res.Header.Get("Retry-After"))
		}
		e.Clock.Advance(15*time.Minute + time.Second)
		e.NewClient().Login("ivy@example.com", password)
	})
}
