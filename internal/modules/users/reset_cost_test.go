package users_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Reset-password hardening (issue 14, item 1): the anonymous form must not
// be a way to burn CPU. argon2id is counted, not timed.

// A submission whose link is not live hashes nothing; a live one hashes the
// new password once.
func TestResetPasswordHashesOnlyForLiveLinks(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.PasswordResetsPerIP = 0 })
		e.NewClient().Register("ann@example.com", password)
		id, code := requestReset(t, e, "ann@example.com")

		bogus := []struct {
			name, userID, code string
		}{
			{name: "unknown user", userID: "00000000-0000-4000-8000-000000000000", code: code},
			{name: "wrong code", userID: id, code: code + "x"},
			{name: "empty code", userID: id, code: ""},
			{name: "nothing", userID: "", code: ""},
		}
		before := e.PasswordHashes.Load()
		c := e.NewClient()
		for i := range 12 {
			b := bogus[i%len(bogus)]
			res := c.Post("/account/reset-password", apptest.Form("userId", b.userID, "code", b.code, "password", newPassword, "confirm_password", newPassword))
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: got %d, want 422", b.name, res.Status)
			}
		}
		if got := e.PasswordHashes.Load() - before; got != 0 {
			t.Fatalf("argon2id computations for 12 bogus reset links: got %d, want 0", got)
		}

		res := c.Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("live link: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
		if got := e.PasswordHashes.Load() - before; got != 1 {
			t.Errorf("argon2id computations for one live link: got %d, want 1", got)
		}

		// Used and expired links cost nothing either.
		before = e.PasswordHashes.Load()
		if res := c.Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", "third password 3", "confirm_password", "third password 3")); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("used link: got %d, want 422", res.Status)
		}
		id2, code2 := requestReset(t, e, "ann@example.com")
		e.Clock.Advance(time.Hour + time.Second)
		if res := c.Post("/account/reset-password", apptest.Form("userId", id2, "code", code2, "password", "third password 3", "confirm_password", "third password 3")); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("expired link: got %d, want 422", res.Status)
		}
		if got := e.PasswordHashes.Load() - before; got != 0 {
			t.Errorf("argon2id computations for a used and an expired link: got %d, want 0", got)
		}
	})
}

// Checking the link before hashing must not make it reusable: of many
// submissions racing with one live link, exactly one resets the password.
func TestResetPasswordLinkSingleUseUnderRace(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)
		id, code := requestReset(t, e, "ann@example.com")

		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			c := e.NewClient()
			wg.Go(func() {
				res, err := c.HTTP.PostForm(e.URL+"/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
				if err != nil {
					return
				}
				res.Body.Close()
				statuses[i] = res.StatusCode
			})
		}
		wg.Wait()
		var ok int
		for i, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				ok++
			case http.StatusUnprocessableEntity:
			default:
				t.Errorf("submission %d: got %d, want 303 or 422", i, s)
			}
		}
		if ok != 1 {
			t.Errorf("successful resets with one link: got %d, want 1", ok)
		}
		if got := auditCount(e, "password.reset", id); got != 1 {
			t.Errorf("password.reset audit rows: got %d, want 1", got)
		}
	})
}

// Each network gets SIMPLEMODULE_PASSWORD_RESETS_PER_IP submissions per 15
// minutes; past that the form answers 429 with Retry-After, hashing nothing.
func TestResetPasswordNetworkCap(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, func(c *config.Config) { c.PasswordResetsPerIP = 3 })
		e.NewClient().Register("ann@example.com", password)
		id, code := requestReset(t, e, "ann@example.com")

		c := e.NewClient()
		for i := range 3 {
			res := c.Post("/account/reset-password", apptest.Form("userId", id, "code", "guess", "password", newPassword, "confirm_password", newPassword))
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("bogus submission %d: got %d, want 422", i+1, res.Status)
			}
		}
		before := e.PasswordHashes.Load()
		res := c.Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("4th submission: got %d, want 429", res.Status)
		}
		if ra := retryAfter(res); ra <= 0 || ra > int((15*time.Minute).Seconds()) {
			t.Errorf("Retry-After: got %d, want 1..900 seconds", ra)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "Too many password resets") {
			t.Errorf("form-error: got %q, want it to say too many password resets", msg)
		}
		if got := e.PasswordHashes.Load() - before; got != 0 {
			t.Errorf("argon2id computations while throttled: got %d, want 0", got)
		}

		// The link was not used up, and works once the window has passed.
		e.Clock.Advance(15*time.Minute + time.Second)
		res = c.Post("/account/reset-password", apptest.Form("userId", id, "code", code, "password", newPassword, "confirm_password", newPassword))
		if res.Status != http.StatusSeeOther {
			t.Fatalf("after the window: got %d, want 303; body: %s", res.Status, apptest.Excerpt(res.Body))
		}
	})
}
