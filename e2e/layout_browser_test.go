package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Widths the layout must serve: a laptop and a small phone.
const (
	desktopWidth = 1280
	phoneWidth   = 390
	shotHeight   = 900
)

// layoutPassword is a password of the test accounts here.
const layoutPassword = "quiet harbor maple 2931"

// TestPhonePagePendingInBrowser shows the phone page while a code is
// pending, inside the resend cooldown: one state (the code form), the stored
// number's absence said once, and "Send a new code" disabled with its wait.
// It saves the page at both widths.
func TestPhonePagePendingInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	shots := screenshotDir(t)
	const (
		email = "ann@example.com"
		e164  = "+14155550132"
	)
	if _, err := e.App.Users.CreateUser(context.Background(), email, layoutPassword, false); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, chrome)
	b.signIn(e, email, layoutPassword)
	b.submit("open the phone page", "/account/manage/phone", chromedp.Navigate(e.URL+"/account/manage/phone"))
	b.submit("send a code", "/account/manage/phone",
		chromedp.SendKeys(testID("phone-input"), "(415) 555-0132"),
		chromedp.Click(testID("send-code")),
	)
	b.do("wait for the code form", chromedp.WaitVisible(testID("code-form")))
	b.wantNumber("pending-number", e164)
	if b.present("phone-number") {
		t.Error("no number is stored yet, but the page shows one")
	}
	if got := b.eval(`document.querySelector('main').innerText.includes('You have not added a phone number')`); got != "false" {
		t.Error(`while a code is pending the page says "You have not added a phone number"`)
	}
	if got := b.eval(`String(document.querySelector('[data-testid="resend-code"]').disabled)`); got != "true" {
		t.Errorf("Send a new code inside the cooldown: disabled is %s, want true", got)
	}
	if got := b.text("resend-wait"); !strings.HasPrefix(got, "Available in ") {
		t.Errorf("resend wait: got %q, want %q", got, "Available in N s.")
	}
	for _, w := range []int{desktopWidth, phoneWidth} {
		b.viewport(w)
		b.noPageOverflow(fmt.Sprintf("phone page at %d px", w))
		b.screenshot(filepath.Join(shots, fmt.Sprintf("phone-code-pending-%d.png", w)))
	}
}

// TestAdminTablesFitInBrowser checks the admin tables at 1280 px (the audit
// table fits its card, IP column included) and at 390 px (each wide table
// scrolls in a focusable region under a visible hint; long emails wrap
// instead of pushing the page sideways), and saves both.
func TestAdminTablesFitInBrowser(t *testing.T) {
	chrome := chromePath(t)
	// Requests through the loopback proxy may name the client, so the
	// audit rows carry a long IPv6 address as real ones do.
	e := apptest.Start(t, "sqlite", func(c *config.Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	shots := screenshotDir(t)
	ctx := context.Background()
	const (
		adminEmail = "admin@example.com"
		longEmail  = "bartholomew.featherstonehaugh-whittingham@accounts.example-enterprises.co.uk"
		e164       = "+447400123456"
		clientIP   = "2001:db8:85a3:1234:5678:8a2e:370:7334"
	)
	if _, err := e.App.Users.CreateUser(ctx, adminEmail, layoutPassword, true); err != nil {
		t.Fatal(err)
	}
	user, err := e.App.Users.CreateUser(ctx, longEmail, layoutPassword, false)
	if err != nil {
		t.Fatal(err)
	}
	c := e.NewClient()
	c.Login(longEmail, layoutPassword)
	post := func(path string, form url.Values) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Forwarded-For", clientIP)
		if res := c.Do(req); res.Status != http.StatusSeeOther {
			t.Fatalf("POST %s: got %d, want 303; %s", path, res.Status, apptest.Excerpt(res.Body))
		}
	}
	post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {e164}})
	post("/account/manage/confirm-phone-number", url.Values{"phone_number": {e164}, "code": {e.LastCode(e164)}})

	ac := e.NewClient()
	ac.Login(adminEmail, layoutPassword)
	if res := ac.Post("/admin/users/"+user.ID+"/force-phone-reverify", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("force phone re-verification: got %d, want 303; %s", res.Status, apptest.Excerpt(res.Body))
	}

	b := newBrowser(t, chrome)
	b.signIn(e, adminEmail, layoutPassword)
	editPath := "/admin/users/" + user.ID + "/edit?tab=security"

	// 1280 px: the audit table fits its card; nothing hides the IP column.
	b.viewport(desktopWidth)
	b.submit("open the security tab", "/admin/users/"+user.ID+"/edit", chromedp.Navigate(e.URL+editPath))
	fits := b.eval(`(() => {
		const r = document.querySelector('[data-testid="audit-trail"] .table-scroll');
		const card = document.querySelector('[data-testid="audit-trail"]').getBoundingClientRect();
		const ip = document.querySelector('[data-testid="audit-entry"] td:last-child').getBoundingClientRect();
		return [r.scrollWidth <= r.clientWidth, ip.right <= card.right].join(' ');
	})()`)
	if fits != "true true" {
		t.Errorf("audit table at %d px: (fits its region, IP column inside the card) got %s, want true true", desktopWidth, fits)
	}
	if got := b.eval(`getComputedStyle(document.getElementById('audit-hint')).display`); got != "none" {
		t.Errorf("audit table at %d px: the scroll hint is shown (display %s), want hidden", desktopWidth, got)
	}
	if got := b.eval(`document.querySelector('[data-testid="audit-entry"] [data-testid="audit-action"]').innerText`); got != "Phone re-verification forced" {
		t.Errorf("newest audit action: got %q, want %q", got, "Phone re-verification forced")
	}
	b.noPageOverflow("security tab at 1280 px")
	b.screenshot(filepath.Join(shots, "admin-audit-1280.png"))

	// 390 px: the table scrolls in its region, and the page says so.
	b.viewport(phoneWidth)
	b.wantScrollRegion("audit table", `[data-testid="audit-trail"] .table-scroll`, "audit-hint")
	b.noPageOverflow("security tab at 390 px")
	b.screenshot(filepath.Join(shots, "admin-audit-390.png"))

	b.submit("open the user list", "/admin/users", chromedp.Navigate(e.URL+"/admin/users"))
	b.wantScrollRegion("user list", `.table-scroll[aria-label="Users"]`, "user-table-hint")
	b.noPageOverflow("user list at 390 px")
	b.screenshot(filepath.Join(shots, "admin-users-390.png"))
}

// signIn signs in through the sign-in page.
func (b *browser) signIn(e *apptest.Env, email, password string) {
	b.t.Helper()
	b.do("open the sign-in page", chromedp.Navigate(e.URL+"/account/login"), chromedp.WaitVisible(testID("email")))
	b.submit("sign in as "+email, "/account/manage",
		chromedp.SendKeys(testID("email"), email),
		chromedp.SendKeys(testID("password"), password),
		chromedp.Click(testID("login-submit")),
	)
}

// viewport sets the page's width (the height stays shotHeight).
func (b *browser) viewport(width int) {
	b.t.Helper()
	b.do(fmt.Sprintf("set the viewport to %d px", width), chromedp.EmulateViewport(int64(width), shotHeight))
}

// eval runs a JavaScript expression and returns its value as text.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(`+expr+`)`))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// noPageOverflow fails the test when the page is wider than the window: a
// wide table or a long email must scroll or wrap inside its own box.
func (b *browser) noPageOverflow(what string) {
	b.t.Helper()
	if got := b.eval(`document.documentElement.scrollWidth + ' ' + window.innerWidth`); len(strings.Fields(got)) == 2 {
		f := strings.Fields(got)
		var page, window int
		fmt.Sscan(f[0], &page)
		fmt.Sscan(f[1], &window)
		if page > window {
			b.t.Errorf("%s: the page is %d px wide in a %d px window", what, page, window)
		}
	}
}

// wantScrollRegion checks that the table region at selector is wider inside
// than out (so it scrolls), can be focused from the keyboard, has a name,
// and is described by the visible hint hintID.
func (b *browser) wantScrollRegion(what, selector, hintID string) {
	b.t.Helper()
	got := b.eval(`(() => {
		const r = document.querySelector('` + selector + `');
		const hint = document.getElementById('` + hintID + `');
		return [r.scrollWidth > r.clientWidth, r.tabIndex === 0, !!r.getAttribute('aria-label'),
			r.getAttribute('aria-describedby') === '` + hintID + `', getComputedStyle(hint).display !== 'none' && hint.getBoundingClientRect().height > 0].join(' ');
	})()`)
	if got != "true true true true true" {
		b.t.Errorf("%s at %d px: (scrolls, focusable, named, described by the hint, hint visible) got %s, want all true", what, phoneWidth, got)
	}
}
