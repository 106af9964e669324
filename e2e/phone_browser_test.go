package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
)

const (
	// defaultChromePath is where Debian's chromium package installs the browser.
	defaultChromePath = "/usr/bin/chromium"
	// updateScreenshotsEnv, set to 1, makes the test write its screenshots
	// into docs/screenshots instead of a temporary directory.
	updateScreenshotsEnv = "SIMPLEMODULE_UPDATE_SCREENSHOTS"

	// browserLimit bounds the browser's whole life, start-up included, so a
	// wedged Chromium cannot hold the test until the go test deadline.
	browserLimit = 60 * time.Second
	// stepTimeout bounds one user step: a page load, a form submission.
	stepTimeout = 10 * time.Second

	windowWidth, windowHeight = 1100, 900
)

// TestPhoneVerificationInBrowser is the phone confirmation flow of SPEC §1 as
// a person lives it: sign up, add a number on the profile (stored
// unverified), send a code from the phone page, type the code from the SMS,
// and see the Verified badge. It saves a screenshot of each of the three
// states of the phone page.
func TestPhoneVerificationInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	b := newBrowser(t, chrome)
	shots := screenshotDir(t)

	const (
		email    = "ada@example.com"
		password = "correct horse battery staple"
		typed    = "(415) 555-0132"
		e164     = "+14155550132"
	)

	b.do("open the register page", chromedp.Navigate(e.URL+"/account/register"), chromedp.WaitVisible(testID("email")))
	// Signing up signs nobody in (that would tell a new address from a
	// taken one): check your email, confirm, then sign in.
	b.submit("register", "/account/login",
		chromedp.SendKeys(testID("email"), email),
		chromedp.SendKeys(testID("password"), password),
		chromedp.SendKeys(testID("confirm-password"), password),
		chromedp.Click(testID("register-submit")),
	)
	if got := b.text("flash"); !strings.Contains(got, "Check your email") {
		t.Errorf("after sign-up the flash says %q, want it to say to check the email", got)
	}
	b.submit("open the confirmation link", "/account/confirm-email", chromedp.Navigate(e.URL+e.LastLink(email)))
	b.wantText("confirm-result", "Thank you for confirming your email")
	b.submit("go to the profile, which asks to sign in", "/account/login", chromedp.Click(chromedp.CSS(`a.button[href="/account/manage"]`)))
	b.submit("sign in", "/account/manage",
		chromedp.SendKeys(testID("email"), email),
		chromedp.SendKeys(testID("password"), password),
		chromedp.Click(testID("login-submit")),
	)
	if got := b.text("nav-manage"); got != email {
		t.Fatalf("after sign-up the header shows %q, want the signed-in address %q", got, email)
	}

	// Editing the number on the profile stores it unverified (SPEC §3).
	b.submit("save the number on the profile", "/account/manage",
		chromedp.SendKeys(testID("profile-phone"), typed),
		chromedp.Click(testID("profile-save")),
	)
	b.wantNumber("phone-number", e164)
	b.wantText("phone-status", "Unverified")

	b.submit("follow the verify link", "/account/manage/phone", chromedp.Click(testID("verify-phone-link")))
	b.wantNumber("phone-number", e164)
	b.wantText("phone-status", "Unverified")
	if got := b.value("phone-input"); got != e164 {
		t.Errorf("phone field holds %q, want it prefilled with %q", got, e164)
	}
	b.screenshot(filepath.Join(shots, "phone-unverified.png"))

	b.submit("send the code", "/account/manage/phone", chromedp.Click(testID("send-code")))
	b.do("wait for the code form", chromedp.WaitVisible(testID("code-form")))
	b.wantNumber("pending-number", e164)
	b.wantText("phone-status", "Unverified")
	b.screenshot(filepath.Join(shots, "phone-code-sent.png"))

	code := e.LastCode(e164)
	b.submit("verify the code", "/account/manage/phone",
		chromedp.SendKeys(testID("code"), code),
		chromedp.Click(testID("confirm-code")),
	)
	b.wantNumber("phone-number", e164)
	b.wantText("phone-status", "Verified")
	if b.present("code-form") {
		t.Errorf("the code form is still shown after the number was verified")
	}
	b.screenshot(filepath.Join(shots, "phone-verified.png"))
}

// chromePath returns the browser to drive: CHROME_PATH, else Debian's
// Chromium. Without one the test skips, except on CI, where it fails.
func chromePath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROME_PATH")
	if path == "" {
		path = defaultChromePath
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required on CI: %v", err)
		}
		t.Skipf("browser test skipped: no Chromium at %s (apt-get install chromium, or set CHROME_PATH)", path)
	}
	return path
}

// screenshotDir is docs/screenshots when updateScreenshotsEnv is 1, and a
// temporary directory otherwise, so that CI never dirties the tree.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if os.Getenv(updateScreenshotsEnv) != "1" {
		return t.TempDir()
	}
	// go test runs in the package directory, e2e/, one below the root.
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium with one tab, bound to a test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Chromium in a fresh profile and stops it when the test
// ends (before the application, whose cleanup was registered first).
func newBrowser(t *testing.T, chrome string) *browser {
	t.Helper()
	out := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(windowWidth, windowHeight),
		chromedp.CombinedOutput(out),
	)
	limit, cancelLimit := context.WithTimeout(context.Background(), browserLimit)
	alloc, cancelAlloc := chromedp.NewExecAllocator(limit, opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser() // closes the browser, and waits for it
		cancelAlloc()
		cancelLimit()
	})
	b := &browser{t: t, ctx: ctx}
	// The first Do starts the browser and binds it to ctx, which has no step
	// timeout; every later step derives its own deadline from ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\nbrowser output:\n%s", chrome, err, out)
	}
	b.do("set the viewport", chromedp.EmulateViewport(windowWidth, windowHeight))
	return b
}

// do runs the actions of one step within stepTimeout.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

// submit runs actions that end in a form submission or a link click, waits
// for the page the server answers with, and checks that it is a 200 at
// wantPath: a successful POST redirects (303) to a page, and a refused one
// renders a 422 with a form error.
func (b *browser) submit(step, wantPath string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	if res.Status != http.StatusOK {
		b.t.Fatalf("%s: got status %d at %s, want 200; %s", step, res.Status, res.URL, b.pageMessages())
	}
	u, err := url.Parse(res.URL)
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	if u.Path != wantPath {
		b.t.Fatalf("%s: landed on %s, want %s; %s", step, u.Path, wantPath, b.pageMessages())
	}
}

// pageMessages describes the flash and form error shown, for failures.
func (b *browser) pageMessages() string {
	msg := func(id string) string {
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector('[data-testid="`+id+`"]') || {innerText: "none"}).innerText`))
		if err != nil {
			return err.Error()
		}
		return text
	}
	return "flash: " + msg("flash") + "; form-error: " + msg("form-error")
}

// text returns the visible text of the element with data-testid=id.
func (b *browser) text(id string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(testID(id), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("read %s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// wantText fails the test unless the element with data-testid=id shows want.
func (b *browser) wantText(id, want string) {
	b.t.Helper()
	if got := b.text(id); got != want {
		b.t.Errorf("%s: got %q, want %q", id, got, want)
	}
}

// wantNumber fails the test unless the element with data-testid=id shows
// the number e164 in international format, as people read it, and keeps
// the E.164 form in its data-e164 attribute.
func (b *browser) wantNumber(id, e164 string) {
	b.t.Helper()
	want := phone.FormatInternational(e164)
	if want == e164 {
		b.t.Fatalf("%s: %q has no international format", id, e164)
	}
	b.wantText(id, want)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="`+id+`"]').dataset.e164 || ""`))
	if err != nil {
		b.t.Fatalf("read %s's data-e164: %v", id, err)
	}
	if got != e164 {
		b.t.Errorf("%s data-e164: got %q, want %q", id, got, e164)
	}
}

// value returns the value of the form field with data-testid=id.
func (b *browser) value(id string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Value(testID(id)))
	if err != nil {
		b.t.Fatalf("read %s: %v", id, err)
	}
	return s
}

// present reports whether an element with data-testid=id is on the page. It
// does not wait: call it once the page has loaded.
func (b *browser) present(id string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="`+id+`"]') !== null`))
	if err != nil {
		b.t.Fatalf("look for %s: %v", id, err)
	}
	return found
}

// screenshot saves the whole page as a PNG at path.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// testID selects the element carrying data-testid=id (SPEC §3 hooks).
func testID(id string) chromedp.CSS {
	return chromedp.CSS(`[data-testid="` + id + `"]`)
}

// lockedBuffer collects the browser's output, which arrives from the
// goroutines of os/exec while the test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
