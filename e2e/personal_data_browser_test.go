package e2e

import (
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// TestPersonalDataPageInBrowser opens the personal data page at a laptop's
// and a phone's width with the deletion form unfolded (nothing wider than
// the window), then deletes the account with it and lands on the page that
// says what was kept.
func TestPersonalDataPageInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	shots := screenshotDir(t)
	const email = "dana.scully@example.com"
	if _, err := e.App.Users.CreateUser(t.Context(), email, layoutPassword, false); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, chrome)
	b.signIn(e, email, layoutPassword)
	b.viewport(desktopWidth)
	b.submit("open the personal data page", "/account/manage/personal-data", chromedp.Navigate(e.URL+"/account/manage/personal-data"))
	if got := b.eval(`document.querySelector('nav.tabs [aria-current="page"]').textContent`); got != "Personal data" {
		t.Errorf("current tab: got %q, want Personal data", got)
	}
	b.do("unfold the deletion form", chromedp.Click(`[data-testid="delete-account-details"] summary`), chromedp.WaitVisible(testID("delete-password")))
	b.noPageOverflow("personal data page at 1280 px")
	b.screenshot(filepath.Join(shots, "personal-data-1280.png"))

	b.viewport(phoneWidth)
	b.noPageOverflow("personal data page at 390 px")
	b.screenshot(filepath.Join(shots, "personal-data-390.png"))

	b.submit("delete the account", "/account/deleted",
		chromedp.SendKeys(testID("delete-password"), layoutPassword),
		chromedp.Click(testID("delete-account")),
	)
	b.wantText("flash", "Your account has been deleted.")
	b.noPageOverflow("account deleted page at 390 px")
	b.screenshot(filepath.Join(shots, "personal-data-deleted-390.png"))
	if n := e.Count(`SELECT COUNT(*) FROM users WHERE email = $1`, email); n != 0 {
		t.Errorf("users with %s after deletion: got %d, want 0", email, n)
	}
}
