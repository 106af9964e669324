package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Two-factor sign-in seen and controlled by an administrator (issue 11,
// SPEC §8): the Security tab shows it, "Disable two-factor" turns it off
// after a confirmation step, and SIMPLEMODULE_REQUIRE_TWO_FACTOR_FOR_ADMINS
// sends administrators without it to set it up.

const tfManagePage = "/account/manage/two-factor"

// tfEnable turns on the authenticator for the user signed in on c, as they
// would from the setup page, and returns the key.
func tfEnable(t *testing.T, e *apptest.Env, c *apptest.Client) string {
	t.Helper()
	res := c.Get(tfManagePage + "/authenticator")
	if res.Status != http.StatusOK {
		t.Fatalf("GET the authenticator setup page: got %d, want 200: %s", res.Status, apptest.Excerpt(res.Body))
	}
	key, ok := apptest.ElementText(res.Body, "authenticator-key")
	if !ok {
		t.Fatalf("setup page: no authenticator-key")
	}
	key = strings.ReplaceAll(key, " ", "")
	res = c.Post(tfManagePage+"/authenticator", url.Values{"code": {tfCode(t, e, key)}})
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `data-testid="recovery-code"`) {
		t.Fatalf("confirm the authenticator: got %d, want 200 with recovery codes: %s", res.Status, apptest.Excerpt(res.Body))
	}
	return key
}

// tfCode moves the clock to a fresh time step and returns the code for it.
func tfCode(t *testing.T, e *apptest.Env, key string) string {
	t.Helper()
	e.Clock.Advance(30 * time.Second)
	code, err := totp.GenerateCodeCustom(key, e.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// tfUserStatus reads the two-factor status the user signed in on c sees.
func tfUserStatus(t *testing.T, c *apptest.Client) string {
	t.Helper()
	res := c.Get(tfManagePage)
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: got %d (Location %q), want 200", tfManagePage, res.Status, res.Header.Get("Location"))
	}
	s, _ := apptest.ElementText(res.Body, "two-factor-status")
	return s
}

// tfMentions reports whether s speaks of two-factor sign-in.
func tfMentions(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "two-factor") || strings.Contains(s, "two factor") || strings.Contains(s, "two_factor") || strings.Contains(s, "2fa")
}

func TestAdminTwoFactorSecurityTab(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)

		t.Run("off", func(t *testing.T) {
			page := ac.Get(editPath(bob.ID, "security"))
			if page.Status != http.StatusOK {
				t.Fatalf("security tab: got %d, want 200", page.Status)
			}
			if got, ok := apptest.ElementText(page.Body, "two-factor-status"); got != "Off" {
				t.Errorf("two-factor-status: got %q (found %v), want Off", got, ok)
			}
			if strings.Contains(page.Body, `action="/admin/users/`+bob.ID+`/disable-two-factor"`) {
				t.Errorf("security tab while off: got a form posting disable-two-factor, want none")
			}
		})

		tfEnable(t, e, bc)

		t.Run("on, with its methods", func(t *testing.T) {
			page := ac.Get(editPath(bob.ID, "security"))
			if got, _ := apptest.ElementText(page.Body, "two-factor-status"); got != "On" {
				t.Errorf("two-factor-status: got %q, want On", got)
			}
			if !strings.Contains(strings.ToLower(page.Body), "authenticator") {
				t.Errorf("security tab: the authenticator method is not named")
			}
			// The action takes a confirmation step: the tab itself posts nothing.
			if strings.Contains(page.Body, `action="/admin/users/`+bob.ID+`/disable-two-factor"`) {
				t.Errorf("security tab posts disable-two-factor without a confirmation step")
			}
			if !strings.Contains(page.Body, "confirm=disable-two-factor") {
				t.Errorf("security tab: no link to the disable-two-factor confirmation step")
			}
		})

		t.Run("confirmation step", func(t *testing.T) {
			page := ac.Get(editPath(bob.ID, "security") + "&confirm=disable-two-factor")
			if page.Status != http.StatusOK {
				t.Fatalf("confirmation step: got %d, want 200", page.Status)
			}
			if !strings.Contains(page.Body, `action="/admin/users/`+bob.ID+`/disable-two-factor"`) {
				t.Errorf("confirm=disable-two-factor: no confirmation form posting to disable-two-factor")
			}
			if got := tfUserStatus(t, bc); got != "On" {
				t.Errorf("bob's two-factor after the admin only looked: got %q, want On", got)
			}
		})

		t.Run("non-admin refused", func(t *testing.T) {
			createUser(t, e, carolEmail)
			cc := signedIn(e, carolEmail)
			if res := cc.Post("/admin/users/"+bob.ID+"/disable-two-factor", url.Values{}); res.Status != http.StatusForbidden {
				t.Errorf("non-admin POST disable-two-factor: got %d, want 403", res.Status)
			}
			if res := e.NewClient().Post("/admin/users/"+bob.ID+"/disable-two-factor", url.Values{}); res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login") {
				t.Errorf("anonymous POST disable-two-factor: got %d to %q, want 303 to /account/login", res.Status, res.Header.Get("Location"))
			}
			if got := tfUserStatus(t, bc); got != "On" {
				t.Errorf("bob's two-factor after refused attempts: got %q, want On", got)
			}
		})

		t.Run("disable", func(t *testing.T) {
			before := 0
			for _, m := range e.Email.Messages() {
				if m.To == bobEmail && tfMentions(m.Subject+" "+m.Text) {
					before++
				}
			}
			page := postAction(t, ac, bob.ID, "disable-two-factor", "security", http.StatusSeeOther)
			if got, _ := apptest.ElementText(page.Body, "two-factor-status"); got != "Off" {
				t.Errorf("two-factor-status after disabling: got %q, want Off", got)
			}
			found := false
			for _, r := range auditRows(page.Body) {
				if tfMentions(r[0]) && r[1] == adminEmail {
					found = true
				}
			}
			for _, words := range auditTexts(page.Body) {
				found = found || tfMentions(words)
			}
			if !found {
				t.Errorf("audit trail on the security tab: got %v / %v, want a row about two-factor by %s", auditRows(page.Body), auditTexts(page.Body), adminEmail)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE actor_id = $1 AND subject_id = $2 AND LOWER(action) LIKE '%two%factor%'`, admin.ID, bob.ID); n != 1 {
				t.Errorf("audit rows about two-factor by the admin on bob: got %d, want 1", n)
			}
			after := 0
			for _, m := range e.Email.Messages() {
				if m.To == bobEmail && tfMentions(m.Subject+" "+m.Text) {
					after++
				}
			}
			if after != before+1 {
				t.Errorf("two-factor notices to bob: got %d, want %d", after, before+1)
			}
			found = false
			for _, ev := range eventsOf[contracts.TwoFactorDisabled](e) {
				found = found || ev == contracts.TwoFactorDisabled{UserID: bob.ID, ActorID: admin.ID}
			}
			if !found {
				t.Errorf("events: got %+v, want TwoFactorDisabled by the admin", eventsOf[contracts.TwoFactorDisabled](e))
			}

			// Bob signs in with the password alone now.
			c := e.NewClient()
			res := c.SubmitLogin(bobEmail, testPW)
			if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/account/manage" {
				t.Errorf("bob's password sign-in after the admin disabled two-factor: got %d to %q, want 303 to /account/manage", res.Status, res.Header.Get("Location"))
			}
			if got := tfUserStatus(t, c); got != "Off" {
				t.Errorf("bob's status page: got %q, want Off", got)
			}
		})
	})
}

// tfRequireForAdmins switches SIMPLEMODULE_REQUIRE_TWO_FACTOR_FOR_ADMINS on.
func tfRequireForAdmins(c *config.Config) { c.RequireTwoFactorForAdmins = true }

func TestAdminTwoFactorRequiredForAdmins(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, tfRequireForAdmins)
		_, err := e.App.Users.CreateUser(context.Background(), adminEmail, testPW, true)
		if err != nil {
			t.Fatal(err)
		}
		bob := createUser(t, e, bobEmail)
		ac := signedIn(e, adminEmail)

		t.Run("sent to set it up", func(t *testing.T) {
			for _, path := range []string{"/admin/users", editPath(bob.ID, "security")} {
				res := ac.Get(path)
				u, _ := url.Parse(res.Header.Get("Location"))
				if res.Status != http.StatusSeeOther || u == nil || u.Path != tfManagePage {
					t.Errorf("GET %s without two-factor: got %d to %q, want 303 to %s", path, res.Status, res.Header.Get("Location"), tfManagePage)
				}
			}
			res := ac.Post("/admin/users/"+bob.ID+"/lock", url.Values{})
			if res.Status == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/admin/") {
				t.Errorf("POST lock without two-factor: got 303 to %q, want it refused", res.Header.Get("Location"))
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'user.locked' AND subject_id = $1`, bob.ID); n != 0 {
				t.Errorf("bob locked by an admin without two-factor: %d audit rows, want 0", n)
			}
			if res := ac.Get(tfManagePage); res.Status != http.StatusOK {
				t.Errorf("GET %s: got %d, want 200 (the admin can set it up)", tfManagePage, res.Status)
			}
		})

		t.Run("members unaffected", func(t *testing.T) {
			bc := signedIn(e, bobEmail)
			if res := bc.Get("/account/manage"); res.Status != http.StatusOK {
				t.Errorf("member without two-factor: GET /account/manage got %d, want 200", res.Status)
			}
			if res := bc.Get("/admin/users"); res.Status != http.StatusForbidden {
				t.Errorf("member GET /admin/users: got %d, want 403", res.Status)
			}
		})

		key := tfEnable(t, e, ac)

		t.Run("with two-factor on", func(t *testing.T) {
			if res := ac.Get("/admin/users"); res.Status != http.StatusOK {
				t.Errorf("GET /admin/users with two-factor on: got %d (Location %q), want 200", res.Status, res.Header.Get("Location"))
			}
			if res := ac.Get(editPath(bob.ID, "security")); res.Status != http.StatusOK {
				t.Errorf("GET security tab with two-factor on: got %d, want 200", res.Status)
			}
			// A new sign-in goes through the second step, then reaches the admin pages.
			c := e.NewClient()
			res := c.SubmitLogin(adminEmail, testPW)
			if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login/two-factor") {
				t.Fatalf("admin sign-in: got %d to %q, want 303 to the second step", res.Status, res.Header.Get("Location"))
			}
			if res := c.Post("/account/login/two-factor", url.Values{"code": {tfCode(t, e, key)}}); res.Status != http.StatusSeeOther {
				t.Fatalf("second step: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
			}
			if res := c.Get("/admin/users"); res.Status != http.StatusOK {
				t.Errorf("GET /admin/users after the second step: got %d, want 200", res.Status)
			}
		})

		t.Run("turned off again", func(t *testing.T) {
			res := ac.Post(tfManagePage+"/disable", url.Values{"password": {testPW}})
			if res.Status != http.StatusSeeOther {
				t.Fatalf("disable: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
			}
			res = ac.Get("/admin/users")
			if u, _ := url.Parse(res.Header.Get("Location")); res.Status != http.StatusSeeOther || u == nil || u.Path != tfManagePage {
				t.Errorf("GET /admin/users after turning two-factor off: got %d to %q, want 303 to %s", res.Status, res.Header.Get("Location"), tfManagePage)
			}
		})
	})
}

func TestAdminTwoFactorNotRequiredByDefault(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		_, _, ac := startWithAdmin(t, db)
		if res := ac.Get("/admin/users"); res.Status != http.StatusOK {
			t.Errorf("GET /admin/users by an admin without two-factor, setting off: got %d (Location %q), want 200", res.Status, res.Header.Get("Location"))
		}
	})
}
