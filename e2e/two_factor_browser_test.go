package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// TestTwoFactorInBrowser is two-factor sign-in (SPEC §8) as a person lives
// it: sign up, confirm, sign in, open Manage → Two-factor, set up the
// authenticator from the key the page shows (the test plays the
// authenticator app and computes the code from the app's clock), keep the
// recovery codes, sign out, and sign in again with the password and then a
// code. It saves the setup page, the recovery codes and the second step at
// a laptop's and a phone's width.
func TestTwoFactorInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	b := newBrowser(t, chrome)
	shots := screenshotDir(t)

	const (
		email    = "grace@example.com"
		password = "copper kettle morning 48"
	)
	// shoot saves the page at both widths as name.png and name-390.png,
	// checking that nothing is wider than the window, and goes back to the
	// laptop's width.
	shoot := func(name string) {
		t.Helper()
		for _, w := range []int{desktopWidth, phoneWidth} {
			b.viewport(w)
			b.noPageOverflow(fmt.Sprintf("%s at %d px", name, w))
			file := name + ".png"
			if w == phoneWidth {
				file = fmt.Sprintf("%s-%d.png", name, w)
			}
			b.screenshot(filepath.Join(shots, file))
		}
		b.viewport(desktopWidth)
	}
	code := func(key string) string {
		t.Helper()
		c, err := totp.GenerateCodeCustom(key, e.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatalf("compute the authenticator code: %v", err)
		}
		return c
	}
	b.viewport(desktopWidth)

	b.do("open the register page", chromedp.Navigate(e.URL+"/account/register"), chromedp.WaitVisible(testID("email")))
	b.submit("register", "/account/login",
		chromedp.SendKeys(testID("email"), email),
		chromedp.SendKeys(testID("password"), password),
		chromedp.SendKeys(testID("confirm-password"), password),
		chromedp.Click(testID("register-submit")),
	)
	b.submit("open the confirmation link", "/account/confirm-email", chromedp.Navigate(e.URL+e.LastLink(email)))
	b.wantText("confirm-result", "Thank you for confirming your email")
	b.signIn(e, email, password)

	b.submit("open Manage → Two-factor", "/account/manage/two-factor",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href="/account/manage/two-factor"]`)))
	b.wantText("two-factor-status", "Off")
	b.submit("follow the authenticator setup link", "/account/manage/two-factor/authenticator",
		chromedp.Click(chromedp.CSS(`main a[href="/account/manage/two-factor/authenticator"]`)))

	key := strings.ReplaceAll(b.text("authenticator-key"), " ", "")
	if len(key) < 32 {
		t.Errorf("authenticator key %q: got %d characters, want at least 32 (160 bits in base32)", key, len(key))
	}
	if got := b.eval(`(() => { const i = document.querySelector('[data-testid="authenticator-qr"]'); return i.complete && i.naturalWidth > 0 && i.src.startsWith('data:image/png;base64,'); })()`); got != "true" {
		t.Errorf("QR code: (loaded PNG data URI) got %s, want true", got)
	}
	if got := b.eval(`document.querySelector('input[name="code"]').getAttribute('autocomplete')`); got != "one-time-code" {
		t.Errorf("setup code field autocomplete: got %q, want one-time-code", got)
	}
	shoot("two-factor-setup")

	// A mistyped code is refused on the same page, and nothing changes.
	wrong := "000000"
	if wrong == code(key) {
		wrong = "111111"
	}
	// A refused code answers 422 with the same page, so this step waits for
	// the error instead of a 200.
	b.do("type a wrong code",
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), wrong),
		chromedp.Click(chromedp.CSS(`form[action="/account/manage/two-factor/authenticator"] button[type="submit"]`)),
		chromedp.WaitVisible(testID("form-error")),
	)
	if got := b.text("form-error"); got == "" {
		t.Errorf("wrong code: no form error shown")
	}
	if got := strings.ReplaceAll(b.text("authenticator-key"), " ", ""); got != key {
		t.Errorf("after a wrong code the key shown changed from %q to %q, want it kept", key, got)
	}

	b.eval(`document.querySelector('input[name="code"]').value = ''`)
	b.submit("type the code from the authenticator", "/account/manage/two-factor/authenticator",
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), code(key)),
		chromedp.Click(chromedp.CSS(`form[action="/account/manage/two-factor/authenticator"] button[type="submit"]`)),
	)
	if got := b.eval(`document.querySelectorAll('[data-testid="recovery-code"]').length`); got != "10" {
		t.Fatalf("recovery codes shown: got %s, want 10; %s", got, b.pageMessages())
	}
	recovery := b.eval(`Array.from(document.querySelectorAll('[data-testid="recovery-code"]')).map(e => e.textContent.trim()).join(' ')`)
	for _, c := range strings.Fields(recovery) {
		if len(c) != len("xxxx-xxxx-xxxx") || strings.Count(c, "-") != 2 {
			t.Errorf("recovery code %q: want the format xxxx-xxxx-xxxx", c)
		}
	}
	shoot("two-factor-recovery-codes")

	b.submit("open the status page", "/account/manage/two-factor", chromedp.Navigate(e.URL+"/account/manage/two-factor"))
	b.wantText("two-factor-status", "On")
	b.wantText("recovery-codes-left", "10")

	b.submit("sign out", "/account/login", chromedp.Click(testID("logout")))
	b.submit("sign in with the password", "/account/login/two-factor",
		chromedp.SendKeys(testID("email"), email),
		chromedp.SendKeys(testID("password"), password),
		chromedp.Click(testID("login-submit")),
	)
	if b.present("nav-manage") {
		t.Errorf("on the second step the header shows a signed-in user, want nobody signed in yet")
	}
	for attr, want := range map[string]string{"autocomplete": "one-time-code", "inputmode": "numeric"} {
		if got := b.eval(`document.querySelector('input[name="code"]').getAttribute('` + attr + `')`); got != want {
			t.Errorf("second-step code field %s: got %q, want %q", attr, got, want)
		}
	}
	if got := b.eval(`!!document.querySelector('a[href^="/account/login/recovery-code"]')`); got != "true" {
		t.Errorf("second step: no link to sign in with a recovery code")
	}
	if got := b.eval(`!!document.querySelector('form[action="/account/login/two-factor/send-sms"]')`); got != "false" {
		t.Errorf("second step without SMS: got a Text me a code form, want none")
	}
	shoot("two-factor-second-step")

	// The code that turned the authenticator on was for this time step;
	// the app shows the next one 30 seconds later.
	e.Clock.Advance(30 * time.Second)
	b.submit("type the new code", "/account/manage",
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), code(key)),
		chromedp.Click(chromedp.CSS(`form[action^="/account/login/two-factor"]:not([action*="send-sms"]) button[type="submit"]`)),
	)
	if got := b.text("nav-manage"); got != email {
		t.Errorf("after the second step the header shows %q, want the signed-in address %q", got, email)
	}
}
