package users_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Findings of the review of two-factor sign-in and passkeys; each test
// fails on the code before its fix.

// A session alone must not plant a way in that outlives it: adding a
// passkey asks for the password, and wrong ones count towards the lockout.
func TestReviewPasskeyAddNeedsPassword(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		c := e.NewClient()
		c.Register("pat@example.com", password)
		for _, body := range []map[string]any{{}, {"password": "not the password"}} {
			res := postJSON(t, e, c, "/account/passkeys/register/begin", body)
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("register begin with %v: got %d, want 422; %s", body, res.Status, res.Body)
			}
		}
		for range 3 {
			postJSON(t, e, c, "/account/passkeys/register/begin", map[string]any{"password": "still wrong"})
		}
		res := postJSON(t, e, c, "/account/passkeys/register/begin", map[string]any{"password": password})
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Errorf("register begin after 5 wrong passwords: got %d (Retry-After %q), want 429 — the lockout", res.Status, res.Header.Get("Retry-After"))
		}
		if n := e.Count(`SELECT COUNT(*) FROM passkey_challenges`); n != 0 {
			t.Errorf("challenges stored for refused begins: %d, want 0", n)
		}
	})
}

// With two-factor on, replacing the authenticator asks for the password:
// otherwise a borrowed session swaps the owner's second factor for its own.
func TestReviewAuthenticatorReplacementNeedsPassword(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		oldKey, _ := tfEnableAuthenticator(t, e, owner)

		e.Clock.Advance(30e9)
		thief, _ := tfLogin(t, e, addr)
		tfWantRedirect(t, "the thief's sign-in", thief.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, oldKey))), "/account/manage")
		newKey, _ := tfSetupPage(t, thief)
		e.Clock.Advance(30e9)
		tfWantRefused(t, "replace the authenticator without the password", thief.Post(tfAuthPage, apptest.Form("code", tfFreshCode(t, e, newKey))))
		tfWantRefused(t, "replace it with a wrong password", thief.Post(tfAuthPage, apptest.Form("code", tfFreshCode(t, e, newKey), "password", "wrong")))

		// The owner's own key still signs in.
		e.Clock.Advance(30e9)
		c, _ := tfLogin(t, e, addr)
		tfWantRedirect(t, "the owner's authenticator", c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, oldKey))), "/account/manage")
	})
}

// Parallel replacements of the recovery codes leave exactly one set.
func TestReviewParallelRecoveryCodeReplacement(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		c := tfSignUp(e, addr)
		tfEnableAuthenticator(t, e, c)
		id := userID(t, e, addr)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Post("/account/manage/two-factor/recovery-codes", apptest.Form("password", password))
			}()
		}
		wg.Wait()
		if n := e.Count(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, id); n != 10 {
			t.Errorf("unused recovery codes after 4 parallel replacements: got %d, want 10", n)
		}
	})
}

// An administrator forcing email re-verification while someone is on the
// second step ends it, when a confirmed email is required.
func TestReviewSecondStepRechecksConfirmedEmail(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.RequireConfirmedEmail = true })
		const addr = "ann@example.com"
		owner := e.NewClient()
		owner.Register(addr, password)
		owner.Get(e.LastLink(addr))
		owner.Login(addr, password)
		key, _ := tfEnableAuthenticator(t, e, owner)

		c, _ := tfLogin(t, e, addr)
		if err := e.App.Users.Admin().ForceEmailReverification(t.Context(), "", userID(t, e, addr), "127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(30e9)
		res := c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key)))
		if res.Status == http.StatusSeeOther && res.Header.Get("Location") == "/account/manage" {
			t.Fatalf("second step after the email was marked unverified: signed in, want refused")
		}
		apptest.WantSignedIn(t, c, false)
	})
}

// Deleting a passkey ends the sessions it may have started (all but the
// current one), as a password change does.
func TestReviewPasskeyDeletionEndsOtherSessions(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		owner, key := signedUpWithPasskey(t, e, "pat@example.com")
		other := e.NewClient()
		if res := passkeySignIn(t, e, other, key, ""); res.Status != http.StatusOK {
			t.Fatalf("passkey sign-in: got %d; %s", res.Status, res.Body)
		}
		apptest.WantSignedIn(t, other, true)
		id := e.Count(`SELECT COUNT(*) FROM passkeys`)
		if id != 1 {
			t.Fatalf("passkeys: %d, want 1", id)
		}
		var pid string
		if err := e.App.DB.QueryRowContext(t.Context(), `SELECT id FROM passkeys`).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if res := owner.Post("/account/manage/passkeys/"+pid+"/delete", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("delete: got %d, want 303", res.Status)
		}
		apptest.WantSignedIn(t, owner, true)
		apptest.WantSignedIn(t, other, false)
	})
}

// Copies of one authenticator (a clone) presenting the same signature
// counter at the same moment: only one sign-in passes, because the counter
// is stored only while it moves forward.
func TestReviewClonedPasskeyCounterRace(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		c := e.NewClient()
		c.Register("pat@example.com", password)
		key := newSoftKey(t, "localhost", e.URL)
		key.counter = 5 // an authenticator that keeps a counter
		addPasskey(t, e, c, key, "Hardware key")

		const n = 6
		clients := make([]*apptest.Client, n)
		answers := make([]any, n)
		for i := range n {
			clients[i] = e.NewClient()
			clone := *key // same key, same counter: every copy presents counter 6
			answers[i] = clone.get(begin(t, e, clients[i], "login"))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := postJSON(t, e, clients[i], "/account/passkeys/login/finish", map[string]any{"credential": answers[i]})
				if res.Status == http.StatusOK {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if ok != 1 {
			t.Errorf("parallel sign-ins presenting one counter value: %d succeeded, want exactly 1", ok)
		}
	})
}

// Registrations begun in parallel cannot take an account past 20 passkeys:
// the count is checked again when each one finishes.
func TestReviewPasskeyLimitUnderParallelRegistrations(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		c := e.NewClient()
		c.Register("pat@example.com", password)
		for i := range 19 {
			addPasskey(t, e, c, newSoftKey(t, "localhost", e.URL), "key "+string(rune('a'+i)))
		}
		const n = 3
		sessions := make([]*apptest.Client, n)
		answers := make([]any, n)
		for i := range n {
			sessions[i] = e.NewClient()
			sessions[i].Login("pat@example.com", password)
			answers[i] = newSoftKey(t, "localhost", e.URL).create(begin(t, e, sessions[i], "register"))
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				postJSON(t, e, sessions[i], "/account/passkeys/register/finish", map[string]any{"credential": answers[i]})
			}()
		}
		wg.Wait()
		if got := e.Count(`SELECT COUNT(*) FROM passkeys`); got != 20 {
			t.Errorf("passkeys after 3 parallel registrations on top of 19: %d, want 20", got)
		}
	})
}

// Someone failing the password five times locks the password, not the
// passkey: the owner still signs in with their passkey, and the lockout
// (and its count) stays for the password.
func TestReviewPasswordLockoutDoesNotBlockPasskeys(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		const addr = "pat@example.com"
		_, key := signedUpWithPasskey(t, e, addr)
		attacker := e.NewClient()
		var last *apptest.Response
		for range 5 {
			last = attacker.SubmitLogin(addr, "not the password")
		}
		if last.Status != http.StatusTooManyRequests {
			t.Fatalf("5th wrong password: got %d, want 429 (locked)", last.Status)
		}
		owner := e.NewClient()
		if res := passkeySignIn(t, e, owner, key, ""); res.Status != http.StatusOK {
			t.Fatalf("passkey sign-in during the password lockout: got %d %s, want 200", res.Status, res.Body)
		}
		apptest.WantSignedIn(t, owner, true)
		if res := attacker.SubmitLogin(addr, password); res.Status != http.StatusTooManyRequests {
			t.Errorf("the right password during the lockout, after a passkey sign-in: got %d, want 429 (still locked)", res.Status)
		}
	})
}

// Someone who knows the password gets at most 20 wrong second-step codes a
// day, lockout after lockout; then code sign-in pauses (429) until the day
// has passed, and the right code works again.
func TestReviewSecondStepDailyCap(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		key, _ := tfEnableAuthenticator(t, e, owner)
		for range 4 {
			c, _ := tfLogin(t, e, addr)
			for range 5 {
				c.Post(tfStepPath, apptest.Form("code", tfWrongCode(t, e, key)))
			}
			e.Clock.Advance(16 * time.Minute) // the lockout ends
		}
		c, _ := tfLogin(t, e, addr)
		e.Clock.Advance(30 * time.Second)
		res := c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key)))
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("right code after 20 wrong ones today: got %d (Retry-After %q), want 429", res.Status, res.Header.Get("Retry-After"))
		}
		apptest.WantSignedIn(t, c, false)

		e.Clock.Advance(24 * time.Hour)
		c, _ = tfLogin(t, e, addr)
		tfWantRedirect(t, "the right code a day later", c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))), "/account/manage")
	})
}
