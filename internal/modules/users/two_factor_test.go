package users_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// Two-factor sign-in (issue 11, SPEC §8): the authenticator app, SMS to the
// confirmed number, recovery codes, remembered browsers, the half-signed-in
// state and its lockout, through HTTP against a real database.

const (
	tfPage          = "/account/manage/two-factor"
	tfAuthPage      = "/account/manage/two-factor/authenticator"
	tfSMSPath       = "/account/manage/two-factor/sms"
	tfRegenPath     = "/account/manage/two-factor/recovery-codes"
	tfDisablePath   = "/account/manage/two-factor/disable"
	tfForgetPath    = "/account/manage/two-factor/forget-browser"
	tfStepPath      = "/account/login/two-factor"
	tfSendSMSPath   = "/account/login/two-factor/send-sms"
	tfRecoveryPath  = "/account/login/recovery-code"
	tfRecoveryCount = 10
	tfStep          = 30 * time.Second
)

// tfTOTP returns the authenticator code for key at the time at, as an
// authenticator app computes it (RFC 6238: SHA-1, 6 digits, 30 s).
func tfTOTP(t *testing.T, key string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(key, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("compute the authenticator code for key %q: %v", key, err)
	}
	return code
}

// tfFreshCode moves the clock to the next time step (a step is accepted
// once only) and returns the code for it.
func tfFreshCode(t *testing.T, e *apptest.Env, key string) string {
	t.Helper()
	e.Clock.Advance(tfStep)
	return tfTOTP(t, key, e.Clock.Now())
}

// tfWrongCode returns a well-formed code that no step within the skew
// window accepts.
func tfWrongCode(t *testing.T, e *apptest.Env, key string) string {
	t.Helper()
	now := e.Clock.Now()
	valid := []string{tfTOTP(t, key, now.Add(-tfStep)), tfTOTP(t, key, now), tfTOTP(t, key, now.Add(tfStep))}
	for n := 123456; ; n = (n + 111111) % 1_000_000 {
		if c := fmt.Sprintf("%06d", n); !slices.Contains(valid, c) {
			return c
		}
	}
}

var tfTagsRE = regexp.MustCompile(`<[^>]*>`)

// tfTag returns the opening tag of the first element carrying data-testid=id.
func tfTag(body, id string) string {
	return regexp.MustCompile(`<[^>]*data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
}

var tfRecoveryRE = regexp.MustCompile(`(?s)data-testid="recovery-code"[^>]*>(.*?)</`)

// tfRecoveryCodes returns the recovery codes shown on a page.
func tfRecoveryCodes(body string) []string {
	var out []string
	for _, m := range tfRecoveryRE.FindAllStringSubmatch(body, -1) {
		out = append(out, strings.TrimSpace(html.UnescapeString(tfTagsRE.ReplaceAllString(m[1], ""))))
	}
	return out
}

var tfRecoveryFormatRE = regexp.MustCompile(`^[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}$`)

// tfWantRecoveryCodes fails unless res is a 200 page showing ten distinct
// recovery codes in the xxxx-xxxx-xxxx format, and returns them.
func tfWantRecoveryCodes(t *testing.T, what string, res *apptest.Response) []string {
	t.Helper()
	tfWantStatus(t, what, res, http.StatusOK)
	codes := tfRecoveryCodes(res.Body)
	if len(codes) != tfRecoveryCount {
		t.Fatalf("%s: got %d recovery codes (%q), want %d", what, len(codes), codes, tfRecoveryCount)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !tfRecoveryFormatRE.MatchString(c) {
			t.Errorf("%s: recovery code %q: want the format xxxx-xxxx-xxxx", what, c)
		}
		if seen[strings.ToLower(c)] {
			t.Errorf("%s: recovery code %q shown twice", what, c)
		}
		seen[strings.ToLower(c)] = true
	}
	return codes
}

// tfWantStatus fails the test unless res has status want.
func tfWantStatus(t *testing.T, what string, res *apptest.Response, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: got status %d (Location %q), want %d; body: %s", what, res.Status, res.Header.Get("Location"), want, apptest.Excerpt(res.Body))
	}
}

// tfWantRefused checks a 422 page with a visible form error.
func tfWantRefused(t *testing.T, what string, res *apptest.Response) {
	t.Helper()
	if res.Status != http.StatusUnprocessableEntity {
		t.Errorf("%s: got status %d (Location %q), want 422; body: %s", what, res.Status, res.Header.Get("Location"), apptest.Excerpt(res.Body))
		return
	}
	if msg, ok := apptest.ElementText(res.Body, "form-error"); !ok || msg == "" {
		t.Errorf("%s: got no form-error message, want one", what)
	}
}

// tfWantRedirect fails unless res is a 303 to want (path and query).
func tfWantRedirect(t *testing.T, what string, res *apptest.Response, want string) {
	t.Helper()
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("%s: got %d to %q, want 303 to %q; body: %s", what, res.Status, res.Header.Get("Location"), want, apptest.Excerpt(res.Body))
	}
}

// tfWantPath fails unless res is a 303 whose Location has the path want.
func tfWantPath(t *testing.T, what string, res *apptest.Response, want string) {
	t.Helper()
	loc := res.Header.Get("Location")
	u, err := url.Parse(loc)
	if res.Status != http.StatusSeeOther || err != nil || u.Path != want {
		t.Fatalf("%s: got %d to %q, want 303 to %s; body: %s", what, res.Status, loc, want, apptest.Excerpt(res.Body))
	}
}

// tfWantFlash follows the 303 res and fails unless the page shows a flash.
func tfWantFlash(t *testing.T, c *apptest.Client, what string, res *apptest.Response) string {
	t.Helper()
	loc := res.Header.Get("Location")
	page := c.Get(loc)
	flash, ok := apptest.ElementText(page.Body, "flash")
	if !ok || flash == "" {
		t.Errorf("%s: the page it leads to (%s, status %d) shows no flash message", what, loc, page.Status)
	}
	return flash
}

// tfState is what the two-factor status page shows.
type tfState struct {
	status, left, authenticator, sms string
}

// tfStatus reads the two-factor status page of the user signed in on c.
func tfStatus(t *testing.T, c *apptest.Client) tfState {
	t.Helper()
	res := c.Get(tfPage)
	tfWantStatus(t, "GET "+tfPage, res, http.StatusOK)
	var s tfState
	var ok bool
	if s.status, ok = apptest.ElementText(res.Body, "two-factor-status"); !ok {
		t.Errorf("status page: no two-factor-status: %s", apptest.Excerpt(res.Body))
	}
	if s.left, ok = apptest.ElementText(res.Body, "recovery-codes-left"); !ok && s.status == "On" {
		t.Errorf("status page: no recovery-codes-left while two-factor is on")
	}
	s.authenticator, _ = apptest.ElementText(res.Body, "method-authenticator")
	s.sms, _ = apptest.ElementText(res.Body, "method-sms")
	return s
}

// tfWantStatusText fails unless the status page says want (On or Off).
func tfWantStatusText(t *testing.T, c *apptest.Client, want string) tfState {
	t.Helper()
	s := tfStatus(t, c)
	if s.status != want {
		t.Errorf("two-factor-status: got %q, want %q", s.status, want)
	}
	return s
}

// tfWantMethod fails unless the method text says on (On/Off).
func tfWantMethod(t *testing.T, name, text, on string) {
	t.Helper()
	off := map[string]string{"On": "Off", "Off": "On"}[on]
	if !strings.Contains(text, on) || strings.Contains(text, off) {
		t.Errorf("method-%s: got %q, want it to say %s", name, text, on)
	}
}

var tfImgSrcRE = regexp.MustCompile(`src="([^"]*)"`)

// tfSetupPage opens the authenticator setup page and returns the key it
// shows (spaces removed) and the page.
func tfSetupPage(t *testing.T, c *apptest.Client) (string, *apptest.Response) {
	t.Helper()
	res := c.Get(tfAuthPage)
	tfWantStatus(t, "GET "+tfAuthPage, res, http.StatusOK)
	key, ok := apptest.ElementText(res.Body, "authenticator-key")
	if !ok {
		t.Fatalf("setup page: no authenticator-key: %s", apptest.Excerpt(res.Body))
	}
	return strings.ToUpper(strings.ReplaceAll(key, " ", "")), res
}

// tfEnableAuthenticator sets up the authenticator for the user signed in
// on c, while two-factor is off, and returns the key and recovery codes.
func tfEnableAuthenticator(t *testing.T, e *apptest.Env, c *apptest.Client) (string, []string) {
	t.Helper()
	key, _ := tfSetupPage(t, c)
	res := c.Post(tfAuthPage, apptest.Form("code", tfFreshCode(t, e, key)))
	return key, tfWantRecoveryCodes(t, "confirm the authenticator", res)
}

// tfSignUp registers addr on a fresh client, which stays signed in, and
// confirms the address (notices go to confirmed addresses only).
func tfSignUp(e *apptest.Env, addr string) *apptest.Client {
	e.T.Helper()
	c := e.NewClient()
	c.Register(addr, password)
	if res := c.Get(e.LastLink(addr)); res.Status != http.StatusOK {
		e.T.Fatalf("confirm %s: got %d, want 200", addr, res.Status)
	}
	return c
}

// tfLogin posts the password on a fresh client and fails unless it leads to
// the second step.
func tfLogin(t *testing.T, e *apptest.Env, addr string, extra ...string) (*apptest.Client, *apptest.Response) {
	t.Helper()
	c := e.NewClient()
	res := c.Post("/account/login", apptest.Form(append([]string{"email", addr, "password", password}, extra...)...))
	tfWantPath(t, "sign in with the password", res, tfStepPath)
	return c, res
}

// tfNotices counts the emails to addr that speak of two-factor sign-in.
func tfNotices(e *apptest.Env, addr string) int {
	n := 0
	for _, m := range e.Email.Messages() {
		text := strings.ToLower(m.Subject + " " + m.Text)
		if strings.EqualFold(m.To, addr) && (strings.Contains(text, "two-factor") || strings.Contains(text, "two factor")) {
			n++
		}
	}
	return n
}

// tfAudit counts the audit rows about two-factor sign-in of the user id.
func tfAudit(e *apptest.Env, id string) int {
	return e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND LOWER(action) LIKE '%two%factor%'`, id)
}

// tfWantEvent fails unless ev was published.
func tfWantEvent(t *testing.T, e *apptest.Env, ev any) {
	t.Helper()
	if !hasEvent(e, ev) {
		t.Errorf("events: got %+v, want %T %+v among them", e.Events.All(), ev, ev)
	}
}

// tfEmailsTo counts the emails to addr.
func tfEmailsTo(e *apptest.Env, addr string) int {
	n := 0
	for _, m := range e.Email.Messages() {
		if strings.EqualFold(m.To, addr) {
			n++
		}
	}
	return n
}

var tfSMSCodeRE = regexp.MustCompile(`\b(\d{6})\b`)

// tfLastSMSCode returns the code in the latest SMS to number, and how many
// SMS have gone to it.
func tfLastSMSCode(t *testing.T, e *apptest.Env, number string) (string, int) {
	t.Helper()
	n := 0
	for _, m := range e.SMS.Messages() {
		if m.To == number {
			n++
		}
	}
	m, ok := e.SMS.Last(number)
	if !ok {
		t.Fatalf("no SMS to %s", number)
	}
	c := tfSMSCodeRE.FindStringSubmatch(m.Body)
	if c == nil {
		t.Fatalf("no 6-digit code in the SMS %q", m.Body)
	}
	return c[1], n
}

// tfSMSTo counts the SMS sent to number.
func tfSMSTo(e *apptest.Env, number string) int {
	n := 0
	for _, m := range e.SMS.Messages() {
		if m.To == number {
			n++
		}
	}
	return n
}

// tfWantEnded fails unless c's session has ended.
func tfWantEnded(t *testing.T, what string, c *apptest.Client) {
	t.Helper()
	res := c.Get("/account/manage")
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login") {
		t.Errorf("%s: the other session got %d (Location %q), want it ended (303 to /account/login)", what, res.Status, res.Header.Get("Location"))
	}
}

func TestTwoFactorAnonymous(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		for _, path := range []string{tfPage, tfAuthPage} {
			t.Run("GET "+path, func(t *testing.T) {
				res := e.NewClient().Get(path)
				if want := "/account/login?return_url=" + url.QueryEscape(path); res.Status != http.StatusSeeOther || res.Header.Get("Location") != want {
					t.Errorf("got %d to %q, want 303 to %q", res.Status, res.Header.Get("Location"), want)
				}
			})
		}
		for _, path := range []string{tfAuthPage, tfSMSPath, tfRegenPath, tfDisablePath, tfForgetPath} {
			t.Run("POST "+path, func(t *testing.T) {
				res := e.NewClient().Post(path, apptest.Form("password", password, "code", "123456"))
				if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login") {
					t.Errorf("got %d to %q, want 303 to /account/login", res.Status, res.Header.Get("Location"))
				}
			})
		}
		t.Run("second step without the password first", func(t *testing.T) {
			c := e.NewClient()
			tfWantPath(t, "GET "+tfStepPath, c.Get(tfStepPath), "/account/login")
			tfWantPath(t, "POST "+tfStepPath, c.Post(tfStepPath, apptest.Form("code", "123456")), "/account/login")
			apptest.WantSignedIn(t, c, false)
		})
	})
}

func TestTwoFactorAuthenticatorSetup(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		c := tfSignUp(e, addr)
		other := e.NewClient()
		other.Login(addr, password)

		t.Run("off at first", func(t *testing.T) {
			s := tfWantStatusText(t, c, "Off")
			tfWantMethod(t, "authenticator", s.authenticator, "Off")
			tfWantMethod(t, "sms", s.sms, "Off")
		})

		key, page := tfSetupPage(t, c)
		t.Run("setup page", func(t *testing.T) {
			if len(key) < 32 {
				t.Errorf("key %q: got %d base32 characters, want at least 32 (160 bits)", key, len(key))
			}
			src := tfImgSrcRE.FindStringSubmatch(tfTag(page.Body, "authenticator-qr"))
			if src == nil || !strings.HasPrefix(src[1], "data:image/png;base64,") {
				t.Fatalf("authenticator-qr: got tag %q, want an img with a PNG data URI", tfTag(page.Body, "authenticator-qr"))
			}
			raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(strings.TrimPrefix(src[1], "data:image/png;base64,")))
			if err != nil {
				t.Fatalf("QR data URI: %v", err)
			}
			img, err := png.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("QR code: not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 100 || b.Dx() != b.Dy() {
				t.Errorf("QR code: got %v, want a square of at least 100 px", b)
			}
			again, _ := tfSetupPage(t, c)
			if again != key {
				t.Errorf("reloading the setup page: got key %q, want the same pending key %q", again, key)
			}
			tfWantStatusText(t, c, "Off") // opening the page turns nothing on
		})

		t.Run("wrong code refused", func(t *testing.T) {
			notices := tfNotices(e, addr)
			tfWantRefused(t, "wrong code", c.Post(tfAuthPage, apptest.Form("code", tfWrongCode(t, e, key))))
			tfWantRefused(t, "no code", c.Post(tfAuthPage, apptest.Form("code", "")))
			tfWantRefused(t, "letters", c.Post(tfAuthPage, apptest.Form("code", "abcdef")))
			s := tfWantStatusText(t, c, "Off")
			tfWantMethod(t, "authenticator", s.authenticator, "Off")
			if n := tfNotices(e, addr); n != notices {
				t.Errorf("two-factor notices after refusals: got %d, want %d", n, notices)
			}
			for _, ev := range e.Events.All() {
				if _, ok := ev.(contracts.TwoFactorEnabled); ok {
					t.Errorf("events after refusals: got %+v, want no TwoFactorEnabled", ev)
				}
			}
			apptest.WantSignedIn(t, other, true)
			tfWantRedirect(t, "password sign-in while off", e.NewClient().SubmitLogin(addr, password), "/account/manage")
		})

		var codes []string
		t.Run("right code turns it on", func(t *testing.T) {
			notices, audits := tfNotices(e, addr), tfAudit(e, userID(t, e, addr))
			res := c.Post(tfAuthPage, apptest.Form("code", tfFreshCode(t, e, key)))
			codes = tfWantRecoveryCodes(t, "right code", res)
			s := tfWantStatusText(t, c, "On")
			tfWantMethod(t, "authenticator", s.authenticator, "On")
			tfWantMethod(t, "sms", s.sms, "Off")
			if s.left != "10" {
				t.Errorf("recovery-codes-left: got %q, want 10", s.left)
			}
			if n := tfNotices(e, addr); n != notices+1 {
				t.Errorf("two-factor notices: got %d, want %d (one for turning it on)", n, notices+1)
			}
			apptest.WantSignedIn(t, c, true)
			tfWantEnded(t, "turning two-factor on", other)
			if n := tfAudit(e, userID(t, e, addr)); n <= audits {
				t.Errorf("two-factor audit rows: got %d, want more than %d", n, audits)
			}
			tfWantEvent(t, e, contracts.TwoFactorEnabled{UserID: userID(t, e, addr), Method: contracts.MethodAuthenticator, First: true})
		})

		t.Run("codes shown once", func(t *testing.T) {
			for _, path := range []string{tfPage, tfAuthPage} {
				if got := tfRecoveryCodes(c.Get(path).Body); len(got) != 0 {
					t.Errorf("GET %s: got %d recovery codes shown again, want none", path, len(got))
				}
			}
		})

		t.Run("secrets not stored readable", func(t *testing.T) {
			if len(codes) == 0 {
				t.Skip("no codes")
			}
			values := []string{key, codes[0], strings.ReplaceAll(codes[0], "-", ""), codes[9], strings.ReplaceAll(codes[9], "-", "")}
			for _, col := range schemaColumns(t, e) {
				if n := rowsHolding(t, e, col, "", values...); n != 0 {
					t.Errorf("%s.%s: %d rows hold the authenticator key or a recovery code as text", col.table, col.name, n)
				}
			}
		})
	})
}

func TestTwoFactorSignIn(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		key, _ := tfEnableAuthenticator(t, e, owner)

		t.Run("password alone grants nothing", func(t *testing.T) {
			c, res := tfLogin(t, e, addr)
			if loc := res.Header.Get("Location"); loc != tfStepPath {
				t.Errorf("Location: got %q, want %q", loc, tfStepPath)
			}
			cookies := (&http.Response{Header: res.Header}).Cookies()
			if len(cookies) == 0 {
				t.Errorf("got no cookie for the half-signed-in state, want one")
			}
			for _, ck := range cookies {
				if !ck.HttpOnly {
					t.Errorf("cookie %s: got HttpOnly false, want true", ck.Name)
				}
				if ck.Name == "sm_session" && ck.Value != "" {
					t.Errorf("password alone: got a session cookie, want none before the second step")
				}
			}
			apptest.WantSignedIn(t, c, false)
			for _, path := range []string{tfPage, "/account/manage/phone", "/account/manage/sessions"} {
				if r := c.Get(path); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/account/login") {
					t.Errorf("GET %s half signed in: got %d to %q, want 303 to /account/login", path, r.Status, r.Header.Get("Location"))
				}
			}
			if r := c.Post(tfDisablePath, apptest.Form("password", password)); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/account/login") {
				t.Errorf("POST disable half signed in: got %d to %q, want 303 to /account/login", r.Status, r.Header.Get("Location"))
			}
			tfWantStatusText(t, owner, "On")
		})

		t.Run("second-step page", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			res := c.Get(tfStepPath)
			tfWantStatus(t, "GET "+tfStepPath, res, http.StatusOK)
			input := regexp.MustCompile(`<input[^>]*name="code"[^>]*>`).FindString(res.Body)
			if !strings.Contains(input, `autocomplete="one-time-code"`) || !strings.Contains(input, `inputmode="numeric"`) {
				t.Errorf("code field: got %q, want autocomplete=\"one-time-code\" and inputmode=\"numeric\"", input)
			}
			box := regexp.MustCompile(`<input[^>]*name="remember_browser"[^>]*>`).FindString(res.Body)
			if !strings.Contains(box, `type="checkbox"`) {
				t.Errorf("remember_browser: got %q, want a checkbox", box)
			}
			if !strings.Contains(res.Body, `action="`+tfStepPath+`"`) {
				t.Errorf("second-step page: no form posting to %s", tfStepPath)
			}
			if !strings.Contains(res.Body, `href="`+tfRecoveryPath) {
				t.Errorf("second-step page: no link to %s", tfRecoveryPath)
			}
			if strings.Contains(res.Body, `action="`+tfSendSMSPath+`"`) {
				t.Errorf("second-step page without SMS: got a \"Text me a code\" form, want none")
			}
		})

		t.Run("wrong code 422, right code signs in", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			tfWantRefused(t, "wrong code", c.Post(tfStepPath, apptest.Form("code", tfWrongCode(t, e, key))))
			apptest.WantSignedIn(t, c, false)
			tfWantRefused(t, "empty code", c.Post(tfStepPath, apptest.Form("code", "")))
			apptest.WantSignedIn(t, c, false)
			res := c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key)))
			tfWantRedirect(t, "right code", res, "/account/manage")
			apptest.WantSignedIn(t, c, true)
			if _, ok := responseCookie(res, "sm_session"); !ok {
				t.Errorf("right code: got no sm_session cookie, want one")
			}
		})

		t.Run("code with spaces", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			code := tfFreshCode(t, e, key)
			tfWantRedirect(t, "code typed as 123 456", c.Post(tfStepPath, apptest.Form("code", " "+code[:3]+" "+code[3:]+" ")), "/account/manage")
			apptest.WantSignedIn(t, c, true)
		})

		t.Run("return_url kept", func(t *testing.T) {
			c, res := tfLogin(t, e, addr, "return_url", "/account/manage/phone")
			if want := tfStepPath + "?return_url=" + url.QueryEscape("/account/manage/phone"); res.Header.Get("Location") != want {
				t.Errorf("Location: got %q, want %q", res.Header.Get("Location"), want)
			}
			page := c.Get(res.Header.Get("Location"))
			tfWantStatus(t, "second-step page with return_url", page, http.StatusOK)
			form := apptest.Form("code", tfFreshCode(t, e, key), "return_url", "/account/manage/phone")
			tfWantRedirect(t, "right code", c.Post(res.Header.Get("Location"), form), "/account/manage/phone")
			apptest.WantSignedIn(t, c, true)
		})

		t.Run("foreign return_url dropped", func(t *testing.T) {
			c, res := e.NewClient(), (*apptest.Response)(nil)
			res = c.Post("/account/login", apptest.Form("email", addr, "password", password, "return_url", "https://evil.example/"))
			tfWantPath(t, "sign in", res, tfStepPath)
			next := res.Header.Get("Location")
			code := tfFreshCode(t, e, key)
			tfWantRedirect(t, "right code", c.Post(next, apptest.Form("code", code, "return_url", "https://evil.example/")), "/account/manage")
		})

		t.Run("tampered half-sign-in cookie", func(t *testing.T) {
			c, res := tfLogin(t, e, addr)
			u, _ := url.Parse(e.URL)
			var changed []*http.Cookie
			for _, ck := range (&http.Response{Header: res.Header}).Cookies() {
				if ck.Value == "" {
					continue
				}
				v := []byte(ck.Value)
				i := len(v) / 2
				if v[i] == 'A' {
					v[i] = 'B'
				} else {
					v[i] = 'A'
				}
				changed = append(changed, &http.Cookie{Name: ck.Name, Value: string(v), Path: ck.Path})
			}
			c.HTTP.Jar.SetCookies(u, changed)
			tfWantPath(t, "GET second step with a tampered cookie", c.Get(tfStepPath), "/account/login")
			res = c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key)))
			if res.Status == http.StatusSeeOther && res.Header.Get("Location") == "/account/manage" {
				t.Errorf("right code with a tampered cookie: got 303 to /account/manage, want a refusal")
			}
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("bound to the security stamp", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			// Meanwhile the signed-in owner changes the password.
			res := owner.Post("/account/manage/change-password", apptest.Form("current_password", password, "new_password", newPassword, "confirm_password", newPassword))
			tfWantStatus(t, "change password", res, http.StatusSeeOther)
			res = c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key)))
			if res.Status == http.StatusSeeOther && res.Header.Get("Location") == "/account/manage" {
				t.Errorf("right code after the password changed: got 303 to /account/manage, want a refusal (the half-sign-in predates the change)")
			}
			apptest.WantSignedIn(t, c, false)
			// Change it back for the subtests after this one.
			res = owner.Post("/account/manage/change-password", apptest.Form("current_password", newPassword, "new_password", password, "confirm_password", password))
			tfWantStatus(t, "change password back", res, http.StatusSeeOther)
		})

		t.Run("wrong password still refused", func(t *testing.T) {
			c := e.NewClient()
			tfWantRefused(t, "wrong password", c.SubmitLogin(addr, password+"x"))
			tfWantPath(t, "second step after a wrong password", c.Get(tfStepPath), "/account/login")
		})
	})
}

func TestTwoFactorRememberMe(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		key, _ := tfEnableAuthenticator(t, e, tfSignUp(e, addr))
		for _, tt := range []struct {
			name       string
			rememberMe string
			persistent bool
		}{
			{"remember me", "true", true},
			{"browser session", "", false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var extra []string
				if tt.rememberMe != "" {
					extra = []string{"remember_me", tt.rememberMe}
				}
				c, _ := tfLogin(t, e, addr, extra...)
				res := c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key)))
				tfWantRedirect(t, "right code", res, "/account/manage")
				ck, ok := responseCookie(res, "sm_session")
				if !ok {
					t.Fatalf("got no sm_session cookie, want one")
				}
				if persistent := ck.MaxAge > 0 || !ck.Expires.IsZero(); persistent != tt.persistent {
					t.Errorf("persistent session cookie: got %v (Max-Age %d), want %v", persistent, ck.MaxAge, tt.persistent)
				}
				if tt.persistent && ck.MaxAge != rememberMeSeconds {
					t.Errorf("Max-Age: got %d, want %d (14 days)", ck.MaxAge, rememberMeSeconds)
				}
			})
		}
	})
}

func TestTwoFactorReplayedCodeRefused(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		key, _ := tfSetupPage(t, owner)
		setupCode := tfFreshCode(t, e, key)
		tfWantRecoveryCodes(t, "confirm the authenticator", owner.Post(tfAuthPage, apptest.Form("code", setupCode)))

		t.Run("the step used at setup", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			tfWantRefused(t, "the code that turned it on", c.Post(tfStepPath, apptest.Form("code", setupCode)))
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("a code used to sign in", func(t *testing.T) {
			code := tfFreshCode(t, e, key)
			a, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "first use", a.Post(tfStepPath, apptest.Form("code", code)), "/account/manage")
			b, _ := tfLogin(t, e, addr)
			tfWantRefused(t, "same code in another browser", b.Post(tfStepPath, apptest.Form("code", code)))
			apptest.WantSignedIn(t, b, false)
			// The next step's code works.
			tfWantRedirect(t, "next step", b.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))), "/account/manage")
			apptest.WantSignedIn(t, b, true)
		})

		t.Run("one step of skew", func(t *testing.T) {
			e.Clock.Advance(3 * tfStep)
			c, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "code of the previous step", c.Post(tfStepPath, apptest.Form("code", tfTOTP(t, key, e.Clock.Now().Add(-tfStep)))), "/account/manage")

			e.Clock.Advance(3 * tfStep)
			c, _ = tfLogin(t, e, addr)
			tfWantRefused(t, "code two steps old", c.Post(tfStepPath, apptest.Form("code", tfTOTP(t, key, e.Clock.Now().Add(-2*tfStep)))))
			tfWantRefused(t, "code two steps ahead", c.Post(tfStepPath, apptest.Form("code", tfTOTP(t, key, e.Clock.Now().Add(2*tfStep)))))
			tfWantRedirect(t, "code of the next step", c.Post(tfStepPath, apptest.Form("code", tfTOTP(t, key, e.Clock.Now().Add(tfStep)))), "/account/manage")
			apptest.WantSignedIn(t, c, true)
		})
	})
}

func TestTwoFactorHalfSignInExpires(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		key, _ := tfEnableAuthenticator(t, e, tfSignUp(e, addr))

		t.Run("within 5 minutes", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			e.Clock.Advance(4*time.Minute + 30*time.Second)
			tfWantStatus(t, "GET second step", c.Get(tfStepPath), http.StatusOK)
			tfWantRedirect(t, "right code after 4m30s", c.Post(tfStepPath, apptest.Form("code", tfTOTP(t, key, e.Clock.Now()))), "/account/manage")
			apptest.WantSignedIn(t, c, true)
		})

		t.Run("after 5 minutes", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			e.Clock.Advance(5*time.Minute + time.Second)
			tfWantPath(t, "GET second step after 5m1s", c.Get(tfStepPath), "/account/login")
			tfWantPath(t, "right code after 5m1s", c.Post(tfStepPath, apptest.Form("code", tfTOTP(t, key, e.Clock.Now()))), "/account/login")
			apptest.WantSignedIn(t, c, false)
			// Signing in again works.
			c2, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "sign in again", c2.Post(tfStepPath, apptest.Form("code", tfTOTP(t, key, e.Clock.Now()))), "/account/manage")
		})
	})
}

func TestTwoFactorLockout(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		key, _ := tfEnableAuthenticator(t, e, tfSignUp(e, addr))

		c, _ := tfLogin(t, e, addr)
		var locked *apptest.Response
		for i := 1; i <= 6 && locked == nil; i++ {
			res := c.Post(tfStepPath, apptest.Form("code", tfWrongCode(t, e, key)))
			switch {
			case res.Status == http.StatusTooManyRequests && i >= 5:
				locked = res
			case res.Status == http.StatusUnprocessableEntity && i <= 5:
			default:
				want := map[bool]string{true: "422", false: "429"}[i < 5]
				if i == 5 {
					want = "422 or 429"
				}
				t.Fatalf("wrong code %d: got %d, want %s (5 wrong codes lock the account); body: %s", i, res.Status, want, apptest.Excerpt(res.Body))
			}
		}
		if locked == nil {
			t.Fatalf("six wrong codes: never got 429, want the account locked after 5")
		}
		t.Run("locked answer", func(t *testing.T) {
			if ra := retryAfter(locked); ra <= 0 || ra > 900 {
				t.Errorf("Retry-After: got %q, want whole seconds up to 900", locked.Header.Get("Retry-After"))
			}
			if msg, ok := apptest.ElementText(locked.Body, "form-error"); !ok || msg == "" {
				t.Errorf("locked page: got no form-error, want one saying how long to wait")
			}
		})
		t.Run("right code refused while locked", func(t *testing.T) {
			res := c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key)))
			if res.Status != http.StatusTooManyRequests {
				t.Errorf("right code while locked: got %d (Location %q), want 429", res.Status, res.Header.Get("Location"))
			}
			apptest.WantSignedIn(t, c, false)
			if res := e.NewClient().SubmitLogin(addr, password); res.Status != http.StatusTooManyRequests {
				t.Errorf("password while locked: got %d (Location %q), want 429", res.Status, res.Header.Get("Location"))
			}
		})
		t.Run("after the lockout", func(t *testing.T) {
			e.Clock.Advance(15*time.Minute + time.Second)
			c2, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "right code after the lockout", c2.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))), "/account/manage")
			apptest.WantSignedIn(t, c2, true)
		})
	})
}

func TestTwoFactorRecoveryCodes(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		key, codes := tfEnableAuthenticator(t, e, owner)

		t.Run("recovery page", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			res := c.Get(tfRecoveryPath)
			tfWantStatus(t, "GET "+tfRecoveryPath, res, http.StatusOK)
			if !strings.Contains(res.Body, `action="`+tfRecoveryPath) || !strings.Contains(res.Body, `name="code"`) {
				t.Errorf("recovery page: no form posting code to %s", tfRecoveryPath)
			}
			tfWantRefused(t, "not a recovery code", c.Post(tfRecoveryPath, apptest.Form("code", "aaaa-bbbb-cccc")))
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("single use", func(t *testing.T) {
			notices := tfEmailsTo(e, addr)
			c, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "recovery code", c.Post(tfRecoveryPath, apptest.Form("code", codes[0])), "/account/manage")
			apptest.WantSignedIn(t, c, true)
			if s := tfStatus(t, c); s.left != "9" {
				t.Errorf("recovery-codes-left after one use: got %q, want 9", s.left)
			}
			tfWantEvent(t, e, contracts.RecoveryCodeUsed{UserID: userID(t, e, addr), Left: 9})
			if n := tfEmailsTo(e, addr); n != notices+1 {
				t.Errorf("emails to %s after using a recovery code: got %d, want %d (a notice)", addr, n, notices+1)
			} else if m, _ := e.Email.Last(addr); !strings.Contains(strings.ToLower(m.Subject+m.Text), "recovery code") && !strings.Contains(strings.ToLower(m.Subject+m.Text), "two-factor") {
				t.Errorf("notice after a recovery code: subject %q, want it to speak of the recovery code", m.Subject)
			}

			c2, _ := tfLogin(t, e, addr)
			tfWantRefused(t, "the same code again", c2.Post(tfRecoveryPath, apptest.Form("code", codes[0])))
			apptest.WantSignedIn(t, c2, false)
			if s := tfStatus(t, c); s.left != "9" {
				t.Errorf("recovery-codes-left after a refused reuse: got %q, want 9", s.left)
			}
		})

		t.Run("hyphens spaces and case ignored", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			typed := " " + strings.ToUpper(strings.ReplaceAll(codes[1], "-", " ")) + " "
			if strings.ToUpper(codes[1]) == codes[1] {
				typed = " " + strings.ToLower(strings.ReplaceAll(codes[1], "-", "")) + " "
			}
			tfWantRedirect(t, "recovery code typed as "+typed, c.Post(tfRecoveryPath, apptest.Form("code", typed)), "/account/manage")
			if s := tfStatus(t, c); s.left != "8" {
				t.Errorf("recovery-codes-left after two uses: got %q, want 8", s.left)
			}
		})

		t.Run("return_url kept", func(t *testing.T) {
			c, res := tfLogin(t, e, addr, "return_url", "/account/manage/phone")
			step := c.Get(res.Header.Get("Location"))
			tfWantStatus(t, "second-step page", step, http.StatusOK)
			link := regexp.MustCompile(`href="(` + regexp.QuoteMeta(tfRecoveryPath) + `[^"]*)"`).FindStringSubmatch(step.Body)
			if link == nil {
				t.Fatalf("second-step page: no link to %s", tfRecoveryPath)
			}
			path := html.UnescapeString(link[1])
			tfWantRedirect(t, "recovery code", c.Post(path, apptest.Form("code", codes[2], "return_url", "/account/manage/phone")), "/account/manage/phone")
		})

		t.Run("regenerate", func(t *testing.T) {
			other := e.NewClient()
			tfWantPath(t, "sign in other", other.SubmitLogin(addr, password), tfStepPath)
			tfWantRedirect(t, "other second step", other.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))), "/account/manage")
			notices := tfNotices(e, addr)

			tfWantRefused(t, "wrong password", owner.Post(tfRegenPath, apptest.Form("password", password+"x")))
			apptest.WantSignedIn(t, other, true)
			if s := tfStatus(t, owner); s.left != "7" {
				t.Errorf("recovery-codes-left after a refused regeneration: got %q, want 7", s.left)
			}

			fresh := tfWantRecoveryCodes(t, "regenerate", owner.Post(tfRegenPath, apptest.Form("password", password)))
			for _, c := range fresh {
				if slices.Contains(codes, c) {
					t.Errorf("new code %q was an old code too", c)
				}
			}
			s := tfWantStatusText(t, owner, "On")
			if s.left != "10" {
				t.Errorf("recovery-codes-left after regenerating: got %q, want 10", s.left)
			}
			if n := tfNotices(e, addr); n != notices+1 {
				t.Errorf("two-factor notices after regenerating: got %d, want %d", n, notices+1)
			}
			tfWantEvent(t, e, contracts.RecoveryCodesReplaced{UserID: userID(t, e, addr)})
			apptest.WantSignedIn(t, owner, true)
			tfWantEnded(t, "regenerating codes", other)

			c, _ := tfLogin(t, e, addr)
			tfWantRefused(t, "an old unused code", c.Post(tfRecoveryPath, apptest.Form("code", codes[5])))
			apptest.WantSignedIn(t, c, false)
			tfWantRedirect(t, "a new code", c.Post(tfRecoveryPath, apptest.Form("code", fresh[0])), "/account/manage")
			apptest.WantSignedIn(t, c, true)
		})
	})
}

func TestTwoFactorRememberBrowser(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		key, _ := tfEnableAuthenticator(t, e, owner)

		// remember signs c in through the second step with "remember this
		// browser" ticked, then signs it out.
		remember := func(t *testing.T, c *apptest.Client, pw string) {
			t.Helper()
			tfWantPath(t, "sign in", c.SubmitLogin(addr, pw), tfStepPath)
			res := c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key), "remember_browser", "on"))
			tfWantRedirect(t, "right code, remember this browser", res, "/account/manage")
			apptest.WantSignedIn(t, c, true)
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
			apptest.WantSignedIn(t, c, false)
		}
		c := e.NewClient()
		remember(t, c, password)

		t.Run("skips the second step", func(t *testing.T) {
			tfWantRedirect(t, "password in the remembered browser", c.SubmitLogin(addr, password), "/account/manage")
			apptest.WantSignedIn(t, c, true)
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
			tfWantRedirect(t, "password again", c.SubmitLogin(addr, password), "/account/manage")
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
		})

		t.Run("another browser still asked", func(t *testing.T) {
			tfLogin(t, e, addr)
		})

		t.Run("not without the tick", func(t *testing.T) {
			d := e.NewClient()
			tfWantPath(t, "sign in", d.SubmitLogin(addr, password), tfStepPath)
			tfWantRedirect(t, "right code, not remembered", d.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))), "/account/manage")
			tfWantStatus(t, "sign out", d.Post("/account/logout", nil), http.StatusSeeOther)
			tfWantPath(t, "sign in again", d.SubmitLogin(addr, password), tfStepPath)
		})

		t.Run("only for the account that ticked it", func(t *testing.T) {
			const bobAddr = "bob@example.com"
			bob := tfSignUp(e, bobAddr)
			bobKey, _ := tfEnableAuthenticator(t, e, bob)
			tfWantPath(t, "bob signs in on ann's remembered browser", c.SubmitLogin(bobAddr, password), tfStepPath)
			apptest.WantSignedIn(t, c, false)
			tfWantRedirect(t, "bob's code", c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, bobKey))), "/account/manage")
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
			// Ann's remembered browser is still remembered for ann.
			tfWantRedirect(t, "ann again", c.SubmitLogin(addr, password), "/account/manage")
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
		})

		t.Run("a wrong password is still refused", func(t *testing.T) {
			tfWantRefused(t, "wrong password in the remembered browser", c.SubmitLogin(addr, password+"x"))
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("forget ends it", func(t *testing.T) {
			tfWantRedirect(t, "sign in", c.SubmitLogin(addr, password), "/account/manage")
			res := c.Post(tfForgetPath, nil)
			tfWantPath(t, "forget browsers", res, tfPage)
			tfWantFlash(t, c, "forget browsers", res)
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
			tfWantPath(t, "password after forgetting", c.SubmitLogin(addr, password), tfStepPath)
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("forget from another browser ends it", func(t *testing.T) {
			remember(t, c, password)
			res := owner.Post(tfForgetPath, nil)
			tfWantPath(t, "forget browsers", res, tfPage)
			tfWantPath(t, "password after forgetting elsewhere", c.SubmitLogin(addr, password), tfStepPath)
		})

		t.Run("a stamp rotation ends it", func(t *testing.T) {
			c := e.NewClient()
			remember(t, c, password)
			tfWantRedirect(t, "remembered", c.SubmitLogin(addr, password), "/account/manage")
			res := c.Post("/account/manage/change-password", apptest.Form("current_password", password, "new_password", newPassword, "confirm_password", newPassword))
			tfWantStatus(t, "change password", res, http.StatusSeeOther)
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
			tfWantPath(t, "new password after the change", c.SubmitLogin(addr, newPassword), tfStepPath)
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("30 days", func(t *testing.T) {
			c := e.NewClient()
			remember(t, c, newPassword)
			e.Clock.Advance(29 * 24 * time.Hour)
			tfWantRedirect(t, "after 29 days", c.SubmitLogin(addr, newPassword), "/account/manage")
			tfWantStatus(t, "sign out", c.Post("/account/logout", nil), http.StatusSeeOther)
			e.Clock.Advance(2 * 24 * time.Hour)
			tfWantPath(t, "after 31 days", c.SubmitLogin(addr, newPassword), tfStepPath)
		})
	})
}

func TestTwoFactorDisable(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		key, codes := tfEnableAuthenticator(t, e, owner)
		other, _ := tfLogin(t, e, addr)
		tfWantRedirect(t, "other browser", other.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))), "/account/manage")

		t.Run("needs the password", func(t *testing.T) {
			notices := tfNotices(e, addr)
			tfWantRefused(t, "wrong password", owner.Post(tfDisablePath, apptest.Form("password", password+"x")))
			tfWantRefused(t, "no password", owner.Post(tfDisablePath, apptest.Form("password", "")))
			tfWantStatusText(t, owner, "On")
			apptest.WantSignedIn(t, other, true)
			if n := tfNotices(e, addr); n != notices {
				t.Errorf("notices after refused disables: got %d, want %d", n, notices)
			}
			tfLogin(t, e, addr)
		})

		t.Run("cross-origin refused", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.URL+tfDisablePath, strings.NewReader(apptest.Form("password", password).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if res := owner.Do(req); res.Status != http.StatusForbidden {
				t.Errorf("cross-origin disable: got %d, want 403", res.Status)
			}
			tfWantStatusText(t, owner, "On")
		})

		t.Run("turns it off", func(t *testing.T) {
			notices := tfNotices(e, addr)
			res := owner.Post(tfDisablePath, apptest.Form("password", password))
			tfWantRedirect(t, "disable", res, tfPage)
			tfWantFlash(t, owner, "disable", res)
			s := tfWantStatusText(t, owner, "Off")
			tfWantMethod(t, "authenticator", s.authenticator, "Off")
			if s.left != "" && s.left != "0" {
				t.Errorf("recovery-codes-left after disabling: got %q, want 0 or none", s.left)
			}
			if n := tfNotices(e, addr); n != notices+1 {
				t.Errorf("two-factor notices after disabling: got %d, want %d", n, notices+1)
			}
			id := userID(t, e, addr)
			tfWantEvent(t, e, contracts.TwoFactorDisabled{UserID: id, ActorID: id})
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND actor_id = $1 AND LOWER(action) LIKE '%two%factor%' AND LOWER(action) LIKE '%disable%'`, id); n != 1 {
				t.Errorf("audit rows for turning two-factor off: got %d, want 1", n)
			}
			apptest.WantSignedIn(t, owner, true)
			tfWantEnded(t, "disabling", other)

			c := e.NewClient()
			tfWantRedirect(t, "password alone", c.SubmitLogin(addr, password), "/account/manage")
			apptest.WantSignedIn(t, c, true)
		})

		t.Run("codes and key gone", func(t *testing.T) {
			// The recovery page without a half-signed-in state signs nobody in.
			c := e.NewClient()
			res := c.Post(tfRecoveryPath, apptest.Form("code", codes[3]))
			if res.Status == http.StatusSeeOther && res.Header.Get("Location") == "/account/manage" {
				t.Errorf("recovery code without the password: got 303 to /account/manage, want a refusal")
			}
			apptest.WantSignedIn(t, c, false)
			// Setting up again shows a new key.
			again, _ := tfSetupPage(t, owner)
			if again == key {
				t.Errorf("setup after disabling: got the old key again, want a new one")
			}
			fresh := tfWantRecoveryCodes(t, "enable again", owner.Post(tfAuthPage, apptest.Form("code", tfFreshCode(t, e, again))))
			if slices.Contains(fresh, codes[3]) {
				t.Errorf("enabling again: an old recovery code came back")
			}
			c2, _ := tfLogin(t, e, addr)
			tfWantRefused(t, "an old recovery code after disable and enable", c2.Post(tfRecoveryPath, apptest.Form("code", codes[3])))
			tfWantRefused(t, "a code from the old key", c2.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))))
		})
	})
}

func TestTwoFactorSMS(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)

		t.Run("needs a confirmed number", func(t *testing.T) {
			tfWantRefused(t, "no number", owner.Post(tfSMSPath, apptest.Form("password", password)))
			phoneWantStatus(t, "send code", phoneSend(owner, phoneNumberA), http.StatusSeeOther) // pending, not confirmed
			tfWantRefused(t, "unconfirmed number", owner.Post(tfSMSPath, apptest.Form("password", password)))
			tfWantStatusText(t, owner, "Off")
		})

		phoneWantStatus(t, "confirm", phoneConfirm(owner, phoneNumberA, e.LastCode(phoneNumberA)), http.StatusSeeOther)
		other := e.NewClient()
		other.Login(addr, password)

		t.Run("wrong password", func(t *testing.T) {
			tfWantRefused(t, "wrong password", owner.Post(tfSMSPath, apptest.Form("password", password+"x")))
			tfWantStatusText(t, owner, "Off")
			apptest.WantSignedIn(t, other, true)
		})

		t.Run("turn on", func(t *testing.T) {
			notices := tfNotices(e, addr)
			tfWantRecoveryCodes(t, "turn SMS on", owner.Post(tfSMSPath, apptest.Form("password", password)))
			s := tfWantStatusText(t, owner, "On")
			tfWantMethod(t, "sms", s.sms, "On")
			tfWantMethod(t, "authenticator", s.authenticator, "Off")
			if strings.Contains(s.sms, "not usable") {
				t.Errorf("method-sms with a confirmed number: got %q, want it usable", s.sms)
			}
			if s.left != "10" {
				t.Errorf("recovery-codes-left: got %q, want 10", s.left)
			}
			if n := tfNotices(e, addr); n != notices+1 {
				t.Errorf("two-factor notices: got %d, want %d", n, notices+1)
			}
			tfWantEnded(t, "turning SMS on", other)
			tfWantEvent(t, e, contracts.TwoFactorEnabled{UserID: userID(t, e, addr), Method: contracts.MethodSMS, First: true})
		})

		e.Clock.Advance(61 * time.Second) // past the phone code's cooldown

		t.Run("sign in with a texted code", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			page := c.Get(tfStepPath)
			tfWantStatus(t, "second-step page", page, http.StatusOK)
			if !strings.Contains(page.Body, `action="`+tfSendSMSPath+`"`) {
				t.Fatalf("second-step page: no \"Text me a code\" form posting to %s", tfSendSMSPath)
			}
			before := tfSMSTo(e, phoneNumberA)
			res := c.Post(tfSendSMSPath, nil)
			tfWantRedirect(t, "text me a code", res, tfStepPath)
			tfWantFlash(t, c, "text me a code", res)
			code, n := tfLastSMSCode(t, e, phoneNumberA)
			if n != before+1 {
				t.Errorf("SMS to %s: got %d, want %d", phoneNumberA, n, before+1)
			}
			again := c.Post(tfSendSMSPath, nil)
			if again.Status != http.StatusTooManyRequests {
				t.Errorf("second send at once: got %d, want 429", again.Status)
			} else if ra := retryAfter(again); ra <= 0 || ra > 60 {
				t.Errorf("second send at once: Retry-After %q, want 1..60 seconds", again.Header.Get("Retry-After"))
			}
			if n := tfSMSTo(e, phoneNumberA); n != before+1 {
				t.Errorf("SMS after a throttled send: got %d, want %d", n, before+1)
			}
			tfWantRefused(t, "wrong SMS code", c.Post(tfStepPath, apptest.Form("code", phoneOtherCode(code))))
			apptest.WantSignedIn(t, c, false)
			tfWantRedirect(t, "right SMS code", c.Post(tfStepPath, apptest.Form("code", code)), "/account/manage")
			apptest.WantSignedIn(t, c, true)

			c2, _ := tfLogin(t, e, addr)
			tfWantRefused(t, "the same SMS code again", c2.Post(tfStepPath, apptest.Form("code", code)))
			apptest.WantSignedIn(t, c2, false)
		})

		t.Run("the latest code only", func(t *testing.T) {
			e.Clock.Advance(61 * time.Second)
			c, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "first send", c.Post(tfSendSMSPath, nil), tfStepPath)
			first, _ := tfLastSMSCode(t, e, phoneNumberA)
			e.Clock.Advance(61 * time.Second)
			tfWantRedirect(t, "second send", c.Post(tfSendSMSPath, nil), tfStepPath)
			second, _ := tfLastSMSCode(t, e, phoneNumberA)
			if first != second {
				tfWantRefused(t, "the earlier code", c.Post(tfStepPath, apptest.Form("code", first)))
			}
			tfWantRedirect(t, "the latest code", c.Post(tfStepPath, apptest.Form("code", second)), "/account/manage")
		})

		t.Run("SMS code expires", func(t *testing.T) {
			e.Clock.Advance(61 * time.Second)
			c, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "send", c.Post(tfSendSMSPath, nil), tfStepPath)
			code, _ := tfLastSMSCode(t, e, phoneNumberA)
			e.Clock.Advance(5*time.Minute + time.Second)
			// Either the code or the half-signed-in state has expired: no sign-in.
			res := c.Post(tfStepPath, apptest.Form("code", code))
			if res.Status == http.StatusSeeOther && res.Header.Get("Location") == "/account/manage" {
				t.Errorf("SMS code after 5m1s: got 303 to /account/manage, want a refusal")
			}
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("authenticator added while on", func(t *testing.T) {
			key, _ := tfSetupPage(t, owner)
			// While two-factor is on, adding the authenticator also asks for the password.
			res := owner.Post(tfAuthPage, apptest.Form("code", tfFreshCode(t, e, key)))
			tfWantRefused(t, "authenticator while on, without the password", res)
			res = owner.Post(tfAuthPage, apptest.Form("code", tfFreshCode(t, e, key), "password", password))
			tfWantRedirect(t, "confirm the authenticator while on", res, tfPage)
			tfWantFlash(t, owner, "confirm the authenticator while on", res)
			s := tfWantStatusText(t, owner, "On")
			tfWantMethod(t, "authenticator", s.authenticator, "On")
			tfWantMethod(t, "sms", s.sms, "On")
			if s.left != "10" {
				t.Errorf("recovery-codes-left after adding a method: got %q, want 10 (codes unchanged)", s.left)
			}
			tfWantEvent(t, e, contracts.TwoFactorEnabled{UserID: userID(t, e, addr), Method: contracts.MethodAuthenticator, First: false})
			c, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "authenticator code", c.Post(tfStepPath, apptest.Form("code", tfFreshCode(t, e, key))), "/account/manage")
		})
	})
}

func TestTwoFactorPhoneRemovedWithSMSOnly(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "ann@example.com"
		owner := tfSignUp(e, addr)
		phoneVerify(t, e, owner, phoneNumberA)

		warned := func(c *apptest.Client) bool {
			for _, path := range []string{phonePagePath, phonePagePath + "?remove=confirm"} {
				if strings.Contains(c.Get(path).Body, `data-testid="two-factor-warning"`) {
					return true
				}
			}
			return false
		}
		t.Run("no warning without two-factor", func(t *testing.T) {
			if warned(owner) {
				t.Errorf("phone page with two-factor off: got a two-factor-warning, want none")
			}
		})

		codes := tfWantRecoveryCodes(t, "turn SMS on", owner.Post(tfSMSPath, apptest.Form("password", password)))

		t.Run("warned before removing", func(t *testing.T) {
			if !warned(owner) {
				t.Errorf("phone page with SMS the only method: got no two-factor-warning, want one")
			}
		})

		tfWantStatus(t, "remove the number", owner.Post(phoneRemovePath, nil), http.StatusSeeOther)

		t.Run("still on, SMS not usable", func(t *testing.T) {
			s := tfWantStatusText(t, owner, "On")
			if !strings.Contains(s.sms, "not usable") {
				t.Errorf("method-sms after removing the number: got %q, want it to say not usable", s.sms)
			}
			if s.left != "10" {
				t.Errorf("recovery-codes-left: got %q, want 10", s.left)
			}
		})

		t.Run("no text me a code", func(t *testing.T) {
			e.Clock.Advance(61 * time.Second)
			c, _ := tfLogin(t, e, addr)
			page := c.Get(tfStepPath)
			tfWantStatus(t, "second-step page", page, http.StatusOK)
			if strings.Contains(page.Body, `action="`+tfSendSMSPath+`"`) {
				t.Errorf("second-step page without a confirmed number: got a \"Text me a code\" form, want none")
			}
			if !strings.Contains(page.Body, `href="`+tfRecoveryPath) {
				t.Errorf("second-step page: no link to %s", tfRecoveryPath)
			}
			before := len(e.SMS.Messages())
			res := c.Post(tfSendSMSPath, nil)
			if n := len(e.SMS.Messages()); n != before {
				t.Errorf("send-sms without a confirmed number: got %d SMS sent (status %d), want none", n-before, res.Status)
			}
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("recovery code signs in", func(t *testing.T) {
			c, _ := tfLogin(t, e, addr)
			tfWantRedirect(t, "recovery code", c.Post(tfRecoveryPath, apptest.Form("code", codes[0])), "/account/manage")
			apptest.WantSignedIn(t, c, true)
		})
	})
}
