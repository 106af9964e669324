package admin_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

func TestAdminLockUnlock(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)

		res := adminPost(t, ac, admin.ID, "lock", http.StatusUnprocessableEntity)
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "own account") {
			t.Errorf("self-lock message: got %q, want it to mention your own account", msg)
		}
		if res := ac.Get("/admin/users"); res.Status != http.StatusOK {
			t.Fatalf("admin after refused self-lock: got %d, want 200", res.Status)
		}

		page := adminPost(t, ac, bob.ID, "lock", http.StatusSeeOther)
		wantTestID(t, page.Body, "lock-state", "Locked by an administrator")
		apptest.WantSignedIn(t, bc, false) // bob's session ended with the lock
		if n := e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, bob.ID); n != 0 {
			t.Errorf("bob's sessions after lock: got %d, want 0", n)
		}
		res = e.NewClient().SubmitLogin(bobEmail, testPW)
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("locked sign-in: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "locked") {
			t.Errorf("locked sign-in message: got %q, want it to say locked", msg)
		}
		wantTestID(t, rowFor(t, ac.Get("/admin/users").Body, bobEmail), "lock-state", "Locked by an administrator")
		adminPost(t, ac, bob.ID, "lock", http.StatusUnprocessableEntity)

		page = adminPost(t, ac, bob.ID, "unlock", http.StatusSeeOther)
		wantTestID(t, page.Body, "lock-state", "Can sign in")
		signedIn(e, bobEmail)
		adminPost(t, ac, bob.ID, "unlock", http.StatusUnprocessableEntity)

		// Unlock also lifts a lockout after failed sign-ins.
		carol := createUser(t, e, carolEmail)
		for range 5 {
			e.NewClient().SubmitLogin(carolEmail, "wrong-password")
		}
		if res := e.NewClient().SubmitLogin(carolEmail, testPW); res.Status != http.StatusTooManyRequests {
			t.Fatalf("carol after 5 failures: got %d, want 429", res.Status)
		}
		res = ac.Get(editPath(carol.ID, "security"))
		if state, _ := apptest.TestID(res.Body, "lock-state"); !strings.HasPrefix(state, "Locked out until") {
			t.Errorf("carol lock state: got %q, want Locked out until …", state)
		}
		adminPost(t, ac, carol.ID, "unlock", http.StatusSeeOther)
		signedIn(e, carolEmail)

		locked, unlocked := eventsOf[contracts.UserLocked](e), eventsOf[contracts.UserUnlocked](e)
		if want := []contracts.UserLocked{{UserID: bob.ID, ActorID: admin.ID}}; !slices.Equal(locked, want) {
			t.Errorf("UserLocked events: got %+v, want %+v", locked, want)
		}
		if want := []contracts.UserUnlocked{{UserID: bob.ID, ActorID: admin.ID}, {UserID: carol.ID, ActorID: admin.ID}}; !slices.Equal(unlocked, want) {
			t.Errorf("UserUnlocked events: got %+v, want %+v", unlocked, want)
		}
	})
}

func TestAdminForcePhoneReverification(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)
		verifyPhone(t, e, bc, "(415) 555-0132", bobPhone)
		emailsBefore := e.Email.Count()

		page := adminPost(t, ac, bob.ID, "force-phone-reverify", http.StatusSeeOther)
		wantNumber(t, page.Body, bobPhone)
		wantTestID(t, page.Body, "phone-status", "Unverified")
		wantTestID(t, page.Body, "email-status", "Verified")

		res := bc.Get("/account/manage/phone")
		if res.Status != http.StatusOK {
			t.Fatalf("bob's phone page: got %d, want 200 (bob should stay signed in)", res.Status)
		}
		wantNumber(t, res.Body, bobPhone)
		wantTestID(t, res.Body, "phone-status", "Unverified")
		if _, ok := apptest.TestID(bc.Get("/account/manage").Body, "verify-phone-link"); !ok {
			t.Error("bob's profile does not prompt him to verify his number again")
		}

		if got := e.Email.Count() - emailsBefore; got != 1 {
			t.Errorf("emails sent: got %d, want 1", got)
		}
		m, _ := e.Email.Last(bobEmail)
		if m.Subject != "Please verify your phone number again" {
			t.Errorf("email subject: got %q, want %q", m.Subject, "Please verify your phone number again")
		}
		if got := e.LastLink(bobEmail); got != "/account/manage/phone" {
			t.Errorf("email link: got %q, want /account/manage/phone", got)
		}
		want := []contracts.PhoneReverificationForced{{UserID: bob.ID, ActorID: admin.ID, PhoneNumber: bobPhone}}
		if got := eventsOf[contracts.PhoneReverificationForced](e); !slices.Equal(got, want) {
			t.Errorf("events: got %+v, want %+v", got, want)
		}

		res = adminPost(t, ac, bob.ID, "force-phone-reverify", http.StatusUnprocessableEntity)
		if _, ok := apptest.TestID(res.Body, "form-error"); !ok {
			t.Error("forcing an unverified number again: no form error")
		}

		// Bob proves the same number again once his resend cooldown (which
		// follows his last send, not the withdrawn code) has passed.
		e.Clock.Advance(61 * time.Second)
		verifyPhone(t, e, bc, bobPhone, bobPhone)
		res = bc.Get("/account/manage/phone")
		wantTestID(t, res.Body, "phone-status", "Verified")
		wantTestID(t, ac.Get(editPath(bob.ID, "security")).Body, "phone-status", "Verified")

		// No number: refused. Unconfirmed email: no message.
		carol := createUser(t, e, carolEmail)
		res = adminPost(t, ac, carol.ID, "force-phone-reverify", http.StatusUnprocessableEntity)
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "no phone number") {
			t.Errorf("no number: got %q, want it to say no phone number", msg)
		}
		dc := e.NewClient()
		dc.Register("dave@example.com", testPW)
		verifyPhone(t, e, dc, "+1 212 555 0188", "+12125550188")
		adminPost(t, ac, mustUserID(t, ac, "dave@example.com"), "force-phone-reverify", http.StatusSeeOther)
		for _, m := range e.Email.Messages() {
			if m.To == "dave@example.com" && strings.Contains(m.Subject, "phone") {
				t.Errorf("email to an unconfirmed address: %q", m.Subject)
			}
		}
	})
}

var userLinkRE = regexp.MustCompile(`href="/admin/users/([^/"]+)/edit"`)

// mustUserID finds addr's id through the admin search.
func mustUserID(t *testing.T, ac *apptest.Client, addr string) string {
	t.Helper()
	res := ac.Get("/admin/users?q=" + url.QueryEscape(addr))
	m := userLinkRE.FindStringSubmatch(rowFor(t, res.Body, addr))
	if m == nil {
		t.Fatalf("no edit link for %s", addr)
	}
	return m[1]
}

func TestAdminForceEmailReverification(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)
		bc := signedIn(e, bobEmail)

		page := adminPost(t, ac, bob.ID, "force-reverify", http.StatusSeeOther)
		wantTestID(t, page.Body, "email-status", "Unverified")
		res := bc.Get("/account/manage/email")
		if res.Status != http.StatusOK {
			t.Fatalf("bob's email page: got %d, want 200", res.Status)
		}
		wantTestID(t, res.Body, "email", bobEmail)
		wantTestID(t, res.Body, "email-status", "Unverified")
		m, _ := e.Email.Last(bobEmail)
		if m.Subject != "Please verify your email address again" {
			t.Errorf("email subject: got %q, want %q", m.Subject, "Please verify your email address again")
		}
		if got := e.LastLink(bobEmail); got != "/account/manage/email" {
			t.Errorf("email link: got %q, want /account/manage/email", got)
		}
		want := []contracts.EmailReverificationForced{{UserID: bob.ID, ActorID: admin.ID, Email: bobEmail}}
		if got := eventsOf[contracts.EmailReverificationForced](e); !slices.Equal(got, want) {
			t.Errorf("events: got %+v, want %+v", got, want)
		}
		adminPost(t, ac, bob.ID, "force-reverify", http.StatusUnprocessableEntity)

		// Bob can still sign in, asks for a new link and confirms.
		bc = signedIn(e, bobEmail)
		res = bc.Post("/account/manage/email", url.Values{"action": {"resend"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("resend: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
		}
		link := e.LastLink(bobEmail)
		if !strings.HasPrefix(link, "/account/confirm-email?") {
			t.Fatalf("resend link: got %q, want /account/confirm-email?…", link)
		}
		if res := bc.Get(link); res.Status != http.StatusOK {
			t.Fatalf("confirm link: got %d, want 200: %s", res.Status, apptest.Excerpt(res.Body))
		}
		wantTestID(t, bc.Get("/account/manage/email").Body, "email-status", "Verified")
		wantTestID(t, ac.Get(editPath(bob.ID, "security")).Body, "email-status", "Verified")
	})
}

func TestAdminSendPasswordReset(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, admin, ac := startWithAdmin(t, db)
		bob := createUser(t, e, bobEmail)

		page := ac.Get(editPath(bob.ID, "security") + "&confirm=reset")
		if !strings.Contains(page.Body, `data-testid="reset-confirm"`) {
			t.Fatal("the confirmation step for the reset link is missing")
		}
		before := e.Email.Count()
		page = adminPost(t, ac, bob.ID, "send-password-reset", http.StatusSeeOther)
		if got := e.Email.Count() - before; got != 1 {
			t.Fatalf("emails: got %d, want 1", got)
		}
		if m, _ := e.Email.Last(bobEmail); m.Subject != "Reset your SimpleModule password" {
			t.Errorf("subject: got %q", m.Subject)
		}
		rows := auditRows(page.Body)
		if len(rows) == 0 || rows[0] != [2]string{"password.reset_sent", adminEmail} {
			t.Errorf("newest audit row: got %v, want [password.reset_sent %s]", rows, adminEmail)
		}
		if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE action = 'password.reset_sent' AND actor_id = $1 AND subject_id = $2`, admin.ID, bob.ID); n != 1 {
			t.Errorf("audit rows naming the admin: got %d, want 1", n)
		}

		// The old password still works until Bob uses the link; then the new one does.
		signedIn(e, bobEmail)
		link := e.LastLink(bobEmail)
		u, _ := url.Parse(link)
		c := e.NewClient()
		res := c.Post("/account/reset-password", url.Values{"userId": {u.Query().Get("userId")}, "code": {u.Query().Get("code")},
			"password": {"brand-new-pw"}, "confirm_password": {"brand-new-pw"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("reset: got %d: %s", res.Status, apptest.Excerpt(res.Body))
		}
		c.Login(bobEmail, "brand-new-pw")
	})
}
