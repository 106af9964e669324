package e2e

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// TestAdminSecurityTabInBrowser is the admin side of SPEC §1's phone
// verification: an admin finds a user whose email and phone number are both
// verified, sees the two Verified badges on the Security tab, forces phone
// re-verification through the confirmation step, and sees the badge turn
// Unverified and the action recorded under the admin's name. It saves a
// screenshot of the tab before and after.
func TestAdminSecurityTabInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	ctx := context.Background()

	const (
		adminEmail = "admin@example.com"
		bobEmail   = "bob@example.com"
		password   = "correct horse battery staple"
		e164       = "+14155550132"
	)

	if _, err := e.App.Users.CreateUser(ctx, adminEmail, password, true); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	bob, err := e.App.Users.CreateUser(ctx, bobEmail, password, false) // email confirmed
	if err != nil {
		t.Fatalf("create bob: %v", err)
	}

	// Bob verifies his number outside the browser: only the admin's view is
	// under test here.
	c := e.NewClient()
	c.Login(bobEmail, password)
	if res := c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {e164}}); res.Status != http.StatusSeeOther {
		t.Fatalf("send code: got status %d, want 303; %s", res.Status, apptest.Excerpt(res.Body))
	}
	res := c.Post("/account/manage/confirm-phone-number", url.Values{"phone_number": {e164}, "code": {e.LastCode(e164)}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("confirm code: got status %d, want 303; %s", res.Status, apptest.Excerpt(res.Body))
	}
	if got, _ := apptest.TestID(c.Get("/account/manage/phone").Body, "phone-status"); got != "Verified" {
		t.Fatalf("bob's own phone page shows %q, want Verified", got)
	}

	b := newBrowser(t, chrome)
	shots := screenshotDir(t)

	b.signIn(e, adminEmail, password)
	if got := b.text("nav-manage"); got != adminEmail {
		t.Fatalf("after sign-in the header shows %q, want %q", got, adminEmail)
	}

	b.submit("open the user list", "/admin/users", chromedp.Navigate(e.URL+"/admin/users"))
	b.submit("search for bob", "/admin/users",
		chromedp.SendKeys(testID("user-search"), "bob"),
		chromedp.Click(testID("user-search-submit")),
	)
	if got := b.value("user-search"); got != "bob" {
		t.Errorf("search field holds %q after searching, want %q", got, "bob")
	}
	b.wantText("user-count", "1")
	b.wantText("user-link", bobEmail)

	editPath := "/admin/users/" + bob.ID + "/edit"
	b.submit("open bob's edit page", editPath, chromedp.Click(testID("user-link")))
	b.wantText("user-heading", bobEmail)
	b.submit("open the Security tab", editPath, chromedp.Click(testID("tab-security")))
	if got := b.location(); got.Query().Get("tab") != "security" {
		t.Errorf("Security tab link led to %s, want tab=security", got)
	}
	b.wantText("email", bobEmail)
	b.wantText("email-status", "Verified")
	b.wantNumber("phone-number", e164)
	b.wantText("phone-status", "Verified")
	b.screenshot(filepath.Join(shots, "admin-security-tab.png"))

	b.submit("ask to force phone re-verification", editPath, chromedp.Click(testID("force-phone-reverify")))
	b.wantText("phone-status", "Verified") // nothing changes before the admin confirms
	b.submit("confirm forcing phone re-verification", editPath, chromedp.Click(testID("force-phone-confirm")))
	b.wantNumber("phone-number", e164)
	b.wantText("phone-status", "Unverified")
	b.wantText("email-status", "Verified")
	if b.present("force-phone-reverify") || b.present("force-phone-confirm") {
		t.Errorf("the force phone re-verification control is still offered for an unverified number")
	}

	var found bool
	for _, row := range b.auditRows() {
		if row.Code == "phone.reverification_forced" {
			found = true
			if row.Action != "Phone re-verification forced" {
				t.Errorf("audit entry %q is shown as %q, want it in words: %q", row.Code, row.Action, "Phone re-verification forced")
			}
			if row.Actor != adminEmail {
				t.Errorf("audit entry %q is attributed to %q, want %q", row.Action, row.Actor, adminEmail)
			}
		}
	}
	if !found {
		t.Errorf("audit trail has no phone.reverification_forced entry; rows: %+v", b.auditRows())
	}
	b.screenshot(filepath.Join(shots, "admin-security-tab-reverify.png"))
}

// auditRow is one row of the admin Security tab's audit trail.
type auditRow struct {
	Code   string `json:"code"`   // the action's code (data-action)
	Action string `json:"action"` // the action as shown, in words
	Actor  string `json:"actor"`
}

// auditRows reads the audit trail shown on the page, newest first.
func (b *browser) auditRows() []auditRow {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]auditRow](`Array.from(document.querySelectorAll('[data-testid="audit-entry"]'), tr => ({
		code: tr.querySelector('[data-testid="audit-action"]').dataset.action || "",
		action: tr.querySelector('[data-testid="audit-action"]').innerText.trim(),
		actor: tr.querySelector('[data-testid="audit-actor"]').innerText.trim(),
	}))`))
	if err != nil {
		b.t.Fatalf("read the audit trail: %v", err)
	}
	return rows
}

// location returns the URL of the page shown.
func (b *browser) location() *url.URL {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("read the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}
