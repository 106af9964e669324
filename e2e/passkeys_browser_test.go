package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// TestPasskeysInBrowser registers a passkey from the passkeys page with
// Chromium's virtual authenticator (a platform authenticator that verifies
// the user at once), signs out, and signs in with the passkey alone: no
// email, no password. The app runs as http://localhost:PORT, since an IP
// address cannot be a passkey's relying party.
func TestPasskeysInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", apptest.Localhost)
	b := newBrowser(t, chrome)
	shots := screenshotDir(t)
	const (
		email    = "pat@example.com"
		password = "correct horse battery staple"
	)
	if _, err := e.App.Users.CreateUser(t.Context(), email, password, false); err != nil {
		t.Fatal(err)
	}
	b.addVirtualAuthenticator()

	b.signIn(e, email, password)
	b.submit("open the passkeys tab", "/account/manage/passkeys", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/account/manage/passkeys"]`)))
	if !b.present("no-passkeys") {
		t.Errorf("a new account's passkeys page does not say it has none")
	}
	b.do("name the passkey and add it",
		chromedp.WaitVisible(testID("add-passkey")+":not([disabled])"),
		chromedp.SendKeys(testID("passkey-name"), "Test laptop"),
		chromedp.SendKeys(testID("passkey-password"), password),
		chromedp.Click(testID("add-passkey")),
	)
	b.waitFor("the passkeys page after registration", `location.pathname === "/account/manage/passkeys" && document.querySelector('[data-testid="passkey"]') !== null`)
	if got := b.text("flash"); !strings.Contains(got, "Test laptop") {
		t.Errorf("flash after adding: got %q, want the passkey named", got)
	}
	b.wantText("passkey-name-shown", "Test laptop")
	b.wantText("passkey-last-used", "Never")
	b.viewport(1280)
	b.screenshot(filepath.Join(shots, "passkeys-1280.png"))
	b.viewport(390)
	b.noPageOverflow("passkeys page at 390 px")
	b.screenshot(filepath.Join(shots, "passkeys-390.png"))
	b.viewport(1280)

	// Conditional UI: the sign-in page asks for a passkey in the email
	// field's autofill as it loads, and the virtual authenticator (which
	// needs no touch) answers at once, so signing out lands on a page that
	// signs in again by itself.
	b.submit("sign out", "/account/login", chromedp.Click(testID("logout")))
	b.waitFor("the conditional UI to sign in by itself", `location.pathname === "/account/manage" && document.querySelector('[data-testid="nav-manage"]') !== null`)
	if got := b.text("nav-manage"); got != email {
		t.Fatalf("after the conditional passkey sign-in the header shows %q, want %q", got, email)
	}

	// The button: with conditional UI hidden from the page, the sign-in page
	// waits for a click.
	b.withoutConditionalUI()
	b.submit("sign out again", "/account/login", chromedp.Click(testID("logout")))
	b.submit("open a page that needs signing in", "/account/login", chromedp.Navigate(e.URL+"/account/manage/sessions"))
	b.do("wait for the passkey button", chromedp.WaitVisible(testID("passkey-sign-in")))
	if got := b.eval(`document.querySelector('[data-testid="email"]').getAttribute("autocomplete")`); got != "username webauthn" {
		t.Errorf("email field autocomplete: got %q, want %q (conditional UI)", got, "username webauthn")
	}
	b.screenshot(filepath.Join(shots, "login-passkey-1280.png"))
	b.viewport(390)
	b.noPageOverflow("sign-in page at 390 px")
	b.screenshot(filepath.Join(shots, "login-passkey-390.png"))
	b.viewport(1280)

	b.do("sign in with the passkey", chromedp.Click(testID("passkey-sign-in")))
	b.waitFor("the return_url page after signing in", `location.pathname === "/account/manage/sessions" && document.querySelector('[data-testid="nav-manage"]') !== null`)
	if got := b.text("nav-manage"); got != email {
		t.Fatalf("after the passkey sign-in the header shows %q, want %q", got, email)
	}
	b.submit("open the passkeys tab again", "/account/manage/passkeys", chromedp.Navigate(e.URL+"/account/manage/passkeys"))
	if got := b.text("passkey-last-used"); got == "Never" {
		t.Errorf("last used after the passkey sign-in: got %q, want a date", got)
	}
}

// addVirtualAuthenticator gives the tab a platform authenticator that
// holds discoverable credentials and verifies the user without asking.
func (b *browser) addVirtualAuthenticator() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("enable WebAuthn: %v", err)
	}
	_, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		b.t.Fatalf("add a virtual authenticator: %v", err)
	}
}

// withoutConditionalUI makes pages loaded from now on see a browser
// without conditional mediation, as many still are.
func (b *browser) withoutConditionalUI() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`,
	})
	if err != nil {
		b.t.Fatalf("hide conditional UI: %v", err)
	}
}

// waitFor waits until the JavaScript condition holds, e.g. after a script
// navigated by itself; on time out it says what the page shows.
func (b *browser) waitFor(what, condition string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](condition, chromedp.WithPollingTimeout(stepTimeout)))
		if err == nil {
			return
		}
		// A navigation while polling ends the poll (the target navigated, its
		// context is gone); poll the new page until the step's time is up.
		if ctx.Err() == nil {
			continue
		}
		b.t.Fatalf("wait for %s: %v; at %s; %s; passkey-error: %s", what, err, b.eval("location.href"), b.pageMessages(),
			b.eval(`(document.querySelector('[data-testid="passkey-error"]') || {innerText: "none"}).innerText`))
	}
}
