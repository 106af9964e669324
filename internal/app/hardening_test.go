package app_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Parallel wrong passwords cannot outrun the lockout: at most 5 attempts
// are ever checked, and the right password is refused afterwards.
func TestParallelGuessesHitTheLockout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("liv@example.com", "password123")
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
		res := e.NewClient().Post("/account/login", url.Values{"email": {"liv@example.com"}, "password": {"password123"}})
		if res.Status != http.StatusTooManyRequests {
			t.Errorf("right password after the burst: got %d, want 429", res.Status)
		}
	})
}

// A reset link issued before a password change stops working after it.
func TestPasswordChangeRevokesResetLink(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("max@example.com", "password123")
		e.NewClient().Post("/account/forgot-password", url.Values{"email": {"max@example.com"}})
		link, _ := url.Parse(e.LastLink("max@example.com"))
		res := c.Post("/account/manage/change-password", url.Values{"current_password": {"password123"}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("change password: got %d", res.Status)
		}
		q := link.Query()
		res = e.NewClient().Post("/account/reset-password", url.Values{"userId": {q.Get("userId")}, "code": {q.Get("code")}, "password": {"attacker-pw-1"}, "confirm_password": {"attacker-pw-1"}})
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("old reset link after a password change: got %d, want 422", res.Status)
		}
		e.NewClient().Login("max@example.com", "new-password-1")
	})
}

// Forgot-password sends at most one link per account per cooldown, and
// answers the same either way.
func TestForgotPasswordCooldownIsSilent(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("kim@example.com", "password123")
		before := e.Email.Count()
		var first *apptest.Response
		for i := range 5 {
			res := e.NewClient().Post("/account/forgot-password", url.Values{"email": {"kim@example.com"}})
			if i == 0 {
				first = res
			} else if res.Status != first.Status || res.Header.Get("Location") != first.Header.Get("Location") {
				t.Errorf("request %d: got %d %q, want the same answer as the first", i, res.Status, res.Header.Get("Location"))
			}
		}
		if got := e.Email.Count() - before; got != 1 {
			t.Errorf("reset emails in one cooldown: got %d, want 1", got)
		}
	})
}

// Wrong current passwords on change-password count towards the lockout.
func TestChangePasswordGuessesLockOut(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ray@example.com", "password123")
		var last int
		for range 5 {
			last = c.Post("/account/manage/change-password", url.Values{"current_password": {"guess-guess"}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}}).Status
		}
		if last != http.StatusTooManyRequests {
			t.Errorf("5th wrong current password: got %d, want 429", last)
		}
		res := c.Post("/account/manage/change-password", url.Values{"current_password": {"password123"}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
		if res.Status != http.StatusTooManyRequests {
			t.Errorf("right current password while locked: got %d, want 429", res.Status)
		}
	})
}

// /dev/outbox answers only the developer's own machine.
func TestDevOutboxRefusesRemoteClients(t *testing.T) {
	// A request through a trusted proxy on loopback that carries a remote
	// client address is treated as remote.
	e2 := apptest.Start(t, "sqlite", func(c *config.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	req, _ := http.NewRequest(http.MethodGet, e2.URL+"/dev/outbox", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	if res := e2.NewClient().Do(req); res.Status != http.StatusNotFound {
		t.Errorf("remote client: got %d, want 404", res.Status)
	}
	if res := e2.NewClient().Get("/dev/outbox"); res.Status != http.StatusOK {
		t.Errorf("local client: got %d, want 200", res.Status)
	}
}

// The per-IP cap counts an IPv6 client's whole /64.
func TestPerIPCapGroupsIPv6By64(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			c.PhoneSendsPerIP, c.PhoneSendsPerNumber = 2, 0
		})
		send := func(i int, from string) int {
			c := e.NewClient()
			c.Register("v6-"+strconv.Itoa(i)+"@example.com", "password123")
			req, _ := http.NewRequest(http.MethodPost, e.URL+"/account/manage/send-phone-verification-code",
				strings.NewReader(url.Values{"phone_number": {"+1415555" + strconv.Itoa(1000+i)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.Header.Set("X-Forwarded-For", from)
			return c.Do(req).Status
		}
		got := []int{send(1, "2001:db8::1"), send(2, "2001:db8::2"), send(3, "2001:db8::ffff"), send(4, "2001:db8:0:1::1")}
		want := []int{http.StatusSeeOther, http.StatusSeeOther, http.StatusTooManyRequests, http.StatusSeeOther}
		if !slices.Equal(got, want) {
			t.Errorf("answers: got %v, want %v (the third address shares the first two's /64; the fourth does not)", got, want)
		}
	})
}

func TestRegistrationCapPerNetwork(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.RegistrationsPerIP = 3 })
		register := func(i int) *apptest.Response {
			return e.NewClient().Post("/account/register", url.Values{"email": {"r" + strconv.Itoa(i) + "@example.com"}, "password": {"password123"}, "confirm_password": {"password123"}})
		}
		for i := range 3 {
			if res := register(i); res.Status != http.StatusSeeOther {
				t.Fatalf("registration %d: got %d, want 303", i+1, res.Status)
			}
		}
		res := register(3)
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "3600" {
			t.Errorf("4th registration in the hour: got %d Retry-After %q, want 429 and 3600", res.Status, res.Header.Get("Retry-After"))
		}
		if n := e.Count(`SELECT COUNT(*) FROM users`); n != 3 {
			t.Errorf("accounts: got %d, want 3", n)
		}
		e.Clock.Advance(time.Hour + time.Second)
		if res := register(4); res.Status != http.StatusSeeOther {
			t.Errorf("after an hour: got %d, want 303", res.Status)
		}
	})
}

// Failed sign-ins from one network, spread over many accounts, pause
// sign-in from that network; other accounts' lockouts are not what stops it.
func TestSignInFailureCapPerNetwork(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.SignInFailuresPerIP = 5 })
		e.NewClient().Register("real@example.com", "password123")
		for i := range 5 { // one guess each at five accounts, some of which do not exist
			res := e.NewClient().Post("/account/login", url.Values{"email": {"user" + strconv.Itoa(i) + "@example.com"}, "password": {"Summer2026!"}})
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("guess %d: got %d, want 422", i+1, res.Status)
			}
		}
		res := e.NewClient().Post("/account/login", url.Values{"email": {"real@example.com"}, "password": {"password123"}})
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "900" {
			t.Errorf("sign-in after 5 failures from the network: got %d Retry-After %q, want 429 and 900", res.Status, res.Header.Get("Retry-After"))
		}
		e.Clock.Advance(15*time.Minute + time.Second)
		e.NewClient().Login("real@example.com", "password123")
	})
}

// A correct password never counts as a failure, even when it cannot sign
// in yet (unconfirmed email), so confirming later is not met by a lockout.
func TestCorrectPasswordWithoutSessionIsNoFailure(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.RequireConfirmedEmail = true })
		e.NewClient().Post("/account/register", url.Values{"email": {"uma@example.com"}, "password": {"password123"}, "confirm_password": {"password123"}})
		for i := range 7 {
			res := e.NewClient().Post("/account/login", url.Values{"email": {"uma@example.com"}, "password": {"password123"}})
			if res.Status != http.StatusForbidden {
				t.Fatalf("unconfirmed sign-in %d: got %d, want 403", i+1, res.Status)
			}
		}
		if res := e.NewClient().Get(e.LastLink("uma@example.com")); res.Status != http.StatusOK {
			t.Fatalf("confirm: got %d", res.Status)
		}
		e.NewClient().Login("uma@example.com", "password123")
	})
}

// Failures counted but never resolved (a crash between the count and the
// password check) lock the account instead of jamming it for good.
func TestLeftoverFailureCountLocksThenClears(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ivy@example.com", "password123")
		if _, err := e.App.DB.Exec(`UPDATE users SET failed_sign_ins = 5`); err != nil {
			t.Fatal(err)
		}
		res := e.NewClient().Post("/account/login", url.Values{"email": {"ivy@example.com"}, "password": {"password123"}})
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "900" {
			t.Errorf("with 5 leftover failures: got %d Retry-After %q, want 429 and 900", res.Status, res.Header.Get("Retry-After"))
		}
		e.Clock.Advance(15*time.Minute + time.Second)
		e.NewClient().Login("ivy@example.com", "password123")
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
