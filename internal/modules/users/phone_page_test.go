package users_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// The phone page is one state machine (issue 14, item 8): it never says
// "You have not added a phone number" above "We sent a code to …", offers
// exactly one primary action in each state, and never shows a live send
// form that would answer 429: while a send is throttled, its button is
// disabled and the page says how long to wait.

var (
	phoneFormRE   = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	phoneButtonRE = regexp.MustCompile(`<button[^>]*>`)
	phoneWaitRE   = regexp.MustCompile(`(?s)data-testid="resend-wait"[^>]*data-countdown="(\d+)"[^>]*>(.*?)</p>`)
)

// phonePageState is what a phone page offers, read from its HTML.
type phonePageState struct {
	noNumberText bool     // "You have not added a phone number"
	codeForm     bool     // the code entry is shown
	primary      []string // data-testid of enabled buttons that are neither secondary nor danger
	liveSends    int      // enabled buttons of forms that send a code
	sendButtons  int      // all buttons of forms that send a code
	wait         int      // seconds of the wait shown (0 when none)
	waitText     string
}

func readPhonePage(t *testing.T, body string) phonePageState {
	t.Helper()
	// The page's own content: the layout's header holds "Sign out".
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	st := phonePageState{
		noNumberText: strings.Contains(body, "You have not added a phone number"),
		codeForm:     strings.Contains(body, `data-testid="code-form"`),
	}
	for _, f := range phoneFormRE.FindAllStringSubmatch(body, -1) {
		for _, b := range phoneButtonRE.FindAllString(f[2], -1) {
			enabled := !strings.Contains(b, " disabled")
			if f[1] == phoneSendPath {
				st.sendButtons++
				if enabled {
					st.liveSends++
				}
			}
			if enabled && !strings.Contains(b, "secondary") && !strings.Contains(b, "danger") {
				id := regexp.MustCompile(`data-testid="([^"]*)"`).FindStringSubmatch(b)
				if id == nil {
					t.Errorf("a primary button has no data-testid: %s", b)
					continue
				}
				st.primary = append(st.primary, id[1])
			}
		}
	}
	if m := phoneWaitRE.FindStringSubmatch(body); m != nil {
		st.wait, _ = strconv.Atoi(m[1])
		st.waitText = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[2], "")
	}
	return st
}

func TestPhonePageIsOneStateMachine(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		page := func(what string) (phonePageState, string) {
			t.Helper()
			res := c.Get(phonePagePath)
			phoneWantStatus(t, "GET phone page "+what, res, http.StatusOK)
			return readPhonePage(t, res.Body), res.Body
		}
		wantPrimary := func(what string, st phonePageState, want string) {
			t.Helper()
			if len(st.primary) != 1 || st.primary[0] != want {
				t.Errorf("%s: primary actions: got %v, want exactly [%s]", what, st.primary, want)
			}
		}

		// No number, no code.
		st, _ := page("without a number")
		if !st.noNumberText || st.codeForm {
			t.Errorf("without a number: got no-number text %v, code form %v; want true, false", st.noNumberText, st.codeForm)
		}
		wantPrimary("without a number", st, "send-code")

		// No number, a code pending, inside the resend cooldown: the page
		// must not claim there is nothing, and offers no send that would
		// answer 429.
		phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
		st, body := page("while a code is pending")
		if st.noNumberText {
			t.Errorf("while a code is pending: the page says %q above the code form", "You have not added a phone number")
		}
		if !st.codeForm {
			t.Fatal("while a code is pending: got no code form, want one")
		}
		wantPrimary("while a code is pending", st, "confirm-code")
		if st.liveSends != 0 {
			t.Errorf("inside the cooldown: got %d enabled send buttons, want 0 (each would answer 429)", st.liveSends)
		}
		if st.wait < 1 || st.wait > 60 || !strings.Contains(st.waitText, "Available in "+strconv.Itoa(st.wait)+" s") {
			t.Errorf("inside the cooldown: got wait %d s %q, want 1–60 s shown as %q", st.wait, st.waitText, "Available in N s")
		}
		if !strings.Contains(body, "Send a new code") {
			t.Error(`inside the cooldown: got no "Send a new code" action`)
		}
		if n := strings.Count(body, `data-testid="no-phone"`); n != 1 {
			t.Errorf("no-phone markers: got %d, want 1", n)
		}

		// After the cooldown: a new code may be asked for, once.
		e.Clock.Advance(61 * time.Second)
		st, _ = page("after the cooldown")
		wantPrimary("after the cooldown", st, "confirm-code")
		if st.liveSends == 0 || st.wait != 0 {
			t.Errorf("after the cooldown: got %d enabled send buttons and wait %d s, want some and none", st.liveSends, st.wait)
		}
		phoneWantStatus(t, "send a new code", phoneSend(c, phoneNumberA), http.StatusSeeOther)

		// Verified, a code pending for another number: the stored number
		// stays, and the page says so.
		phoneWantStatus(t, "confirm", phoneConfirm(c, phoneNumberA, e.LastCode(phoneNumberA)), http.StatusSeeOther)
		st, body = page("verified")
		wantPrimary("verified", st, "send-code")
		if st.codeForm || st.noNumberText {
			t.Errorf("verified: got code form %v, no-number text %v; want neither", st.codeForm, st.noNumberText)
		}
		if !strings.Contains(body, "Change your number") {
			t.Error(`verified: got no "Change your number"`)
		}
		e.Clock.Advance(61 * time.Second)
		phoneWantStatus(t, "send to another number", phoneSend(c, phoneNumberB), http.StatusSeeOther)
		st, body = page("verified, a code pending for another number")
		wantPrimary("verified, code for another number", st, "confirm-code")
		if got := phoneShown(t, body, "phone-number"); got != phoneNumberA {
			t.Errorf("stored number: got %q, want %q", got, phoneNumberA)
		}
		if got := phoneShown(t, body, "pending-number"); got != phoneNumberB {
			t.Errorf("pending number: got %q, want %q", got, phoneNumberB)
		}
		if !strings.Contains(body, "stays on your account until you enter the code") {
			t.Error("verified, code for another number: the page does not say the stored number stays")
		}

		// Throttled without a pending code: removing the number drops the
		// code, not the cooldown; the refused send shows its wait on a
		// disabled button.
		phoneWantStatus(t, "remove", c.Post(phoneRemovePath, nil), http.StatusSeeOther)
		res := phoneSend(c, phoneNumberA)
		phoneWantStatus(t, "send inside the cooldown", res, http.StatusTooManyRequests)
		st = readPhonePage(t, res.Body)
		if st.liveSends != 0 || st.sendButtons == 0 {
			t.Errorf("throttled: got %d enabled of %d send buttons, want 0 enabled of some", st.liveSends, st.sendButtons)
		}
		ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		if st.wait != ra || ra == 0 {
			t.Errorf("throttled: got wait %d s shown, want Retry-After %d s", st.wait, ra)
		}
		if len(st.primary) != 0 {
			t.Errorf("throttled: got enabled primary actions %v, want none until the wait ends", st.primary)
		}
	})
}

// A number stored unverified (from the profile) with a code pending for it:
// the badge says Unverified, the code form is the one primary action.
func TestPhonePageUnverifiedNumberWithPendingCode(t *testing.T) {
	e := apptest.Start(t, "sqlite", nil)
	c := phoneSignUp(e, "ann@example.com")
	phoneWantStatus(t, "save the number on the profile", c.Post(phoneManagePath, url.Values{"display_name": {"Ann"}, "phone_number": {phoneNumberA}}), http.StatusSeeOther)
	res := c.Get(phonePagePath)
	st := readPhonePage(t, res.Body)
	if len(st.primary) != 1 || st.primary[0] != "send-code" {
		t.Errorf("unverified: primary actions: got %v, want [send-code]", st.primary)
	}
	if !strings.Contains(res.Body, "Verify your number") {
		t.Error(`unverified: got no "Verify your number"`)
	}
	phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), http.StatusSeeOther)
	res = c.Get(phonePagePath)
	st = readPhonePage(t, res.Body)
	if st.noNumberText || !st.codeForm || len(st.primary) != 1 || st.primary[0] != "confirm-code" {
		t.Errorf("unverified with a code: got no-number text %v, code form %v, primary %v; want false, true, [confirm-code]", st.noNumberText, st.codeForm, st.primary)
	}
	if got, _ := phoneTestID(res.Body, "phone-status"); got != "Unverified" {
		t.Errorf("badge: got %q, want Unverified", got)
	}
	if strings.Contains(res.Body, "stays on your account") {
		t.Error("a code for the stored number is described as a code for another number")
	}
}
