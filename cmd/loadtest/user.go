package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// areaCodes are US area codes in service. With the exchange 555 and lines
// 0100–0199, which are reserved for fictional use, they give numbers
// libphonenumber accepts as valid that belong to nobody.
var areaCodes = []string{
	"201", "202", "203", "205", "206", "207", "208", "209", "210", "212",
	"213", "214", "215", "216", "217", "218", "219", "224", "225", "228",
	"229", "231", "234", "239", "240", "248", "251", "252", "253", "254",
	"256", "260", "262", "267", "269", "270", "276", "281", "301", "302",
	"303", "304", "305", "307", "308", "309", "310", "312", "313", "314",
	"315", "316", "317", "318", "319", "320", "321", "323", "325", "330",
	"334", "336", "337", "339", "347", "351", "352", "360", "361", "386",
	"401", "402", "404", "405", "406", "407", "408", "409", "410", "412",
	"413", "414", "415", "417", "419", "423", "425", "432", "434", "435",
	"440", "443", "469", "478", "479", "480", "484", "501", "502", "503",
}

// numbersPerUser is how many numbers each virtual user alternates between:
// the server sends no code to the number a user has already verified.
const numbersPerUser = 2

// maxUsers is how many virtual users get numbers of their own.
var maxUsers = len(areaCodes) * 100 / numbersPerUser

// phoneNumber returns the i-th test number in E.164, like +12015550100.
func phoneNumber(i int) string {
	return fmt.Sprintf("+1%s555%04d", areaCodes[i/100], 100+i%100)
}

// Success of every form the tool posts is 303 to one of these paths.
const (
	pathAfterSignUp = "/account/login"
	pathAfterSignIn = "/account/manage"
	pathAfterPhone  = "/account/manage/phone"
)

// timing bounds a user's waits.
type timing struct {
	request time.Duration // one HTTP request
	code    time.Duration // a code to reach the receiver after the send
	pause   time.Duration // after an error, before the next cycle
}

// virtualUser is one signed-in account looping through phone verification,
// with its own cookie jar and numbers, on one server instance.
type virtualUser struct {
	base     string // the instance's base URL, also sent as Origin
	client   *http.Client
	email    string
	password string
	numbers  [numbersPerUser]string
	hanging  bool // the receiver hangs first delivery attempts to its numbers
	cycles   int  // started so far; picks the number
}

// newVirtualUser returns user i of a run, talking to base over transport.
func newVirtualUser(i int, runID, base string, transport http.RoundTripper) *virtualUser {
	jar, _ := cookiejar.New(nil) // never fails without options
	u := &virtualUser{
		base: base,
		client: &http.Client{
			Transport: transport,
			Jar:       jar,
			// A 303 is the answer being measured, not a page to fetch.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		email:    fmt.Sprintf("loadtest-%s-%d@example.com", runID, i),
		password: "loadtest-" + runID + "-password",
	}
	for n := range u.numbers {
		u.numbers[n] = phoneNumber(i*numbersPerUser + n)
	}
	return u
}

// post sends a form and returns the status and the Location header. A
// request once sent runs to its end even when ctx is cancelled, bounded by
// timeout only: cutting requests off when the run ends would make the
// server log "context canceled" errors that are the tool's doing.
func (u *virtualUser) post(ctx context.Context, timeout time.Duration, path string, form url.Values) (status int, location string, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", u.base)
	resp, err := u.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	// Read the page so the connection is reused; its content is not needed.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), err
}

// signUp registers the account, then signs in (signing up signs nobody
// in), so the session cookie lands in the jar.
func (u *virtualUser) signUp(ctx context.Context, timeout time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	form := url.Values{"email": {u.email}, "password": {u.password}, "confirm_password": {u.password}}
	status, location, err := u.post(ctx, timeout, "/account/register", form)
	if err != nil {
		return fmt.Errorf("sign up %s: %w", u.email, err)
	}
	if kind := outcome(status, location, pathAfterSignUp); kind != "" {
		return fmt.Errorf("sign up %s: %s", u.email, kind)
	}
	status, location, err = u.post(ctx, timeout, "/account/login", url.Values{"email": {u.email}, "password": {u.password}})
	if err != nil {
		return fmt.Errorf("sign in %s: %w", u.email, err)
	}
	if kind := outcome(status, location, pathAfterSignIn); kind != "" {
		return fmt.Errorf("sign in %s: %s", u.email, kind)
	}
	return nil
}

// loop runs cycles until ctx ends, recording each finished cycle and each
// error. A cycle cut short by the end of the run is neither.
func (u *virtualUser) loop(ctx context.Context, rc *receiver, rec *recorder, t timing) {
	for ctx.Err() == nil {
		s, kind := u.cycle(ctx, rc, t)
		if kind == "" {
			rec.cycle(s)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		rec.fail(kind)
		select {
		case <-ctx.Done():
		case <-time.After(t.pause):
		}
	}
}

// cycle sends a code to the user's next number, waits for it at the
// receiver and confirms it. It returns the timings, or the kind of error.
func (u *virtualUser) cycle(ctx context.Context, rc *receiver, t timing) (cycleSample, string) {
	number := u.numbers[u.cycles%numbersPerUser]
	u.cycles++
	codes, done := rc.expect(number)
	defer done()

	start := time.Now()
	status, location, err := u.post(ctx, t.request, "/account/manage/send-phone-verification-code", url.Values{"phone_number": {number}})
	sent := time.Now()
	if err != nil {
		return cycleSample{}, "send: " + networkKind(err)
	}
	if kind := outcome(status, location, pathAfterPhone); kind != "" {
		return cycleSample{}, "send: " + kind
	}

	var d delivery
	wait := time.NewTimer(t.code)
	defer wait.Stop()
	select {
	case d = <-codes:
	case <-wait.C:
		return cycleSample{}, "code: timeout"
	case <-ctx.Done():
		return cycleSample{}, "code: run ended"
	}
	if d.Code == "" {
		return cycleSample{}, "code: none in the text"
	}

	if ctx.Err() != nil {
		return cycleSample{}, "confirm: run ended"
	}
	confirmStart := time.Now()
	status, location, err = u.post(ctx, t.request, "/account/manage/confirm-phone-number", url.Values{"phone_number": {number}, "code": {d.Code}})
	end := time.Now()
	if err != nil {
		return cycleSample{}, "confirm: " + networkKind(err)
	}
	if kind := outcome(status, location, pathAfterPhone); kind != "" {
		return cycleSample{}, "confirm: " + kind
	}
	return cycleSample{
		Done:    end,
		Send:    sent.Sub(start),
		Code:    d.At.Sub(start),
		Confirm: end.Sub(confirmStart),
		Total:   end.Sub(start),
		Hanging: u.hanging,
	}, ""
}

// outcome is "" for a 303 to wantPath, else the kind of error: the status,
// or where an unexpected redirect led (for instance to the sign-in page when
// the session was lost).
func outcome(status int, location, wantPath string) string {
	if status != http.StatusSeeOther {
		return fmt.Sprintf("status %d", status)
	}
	loc, err := url.Parse(location)
	if err != nil || loc.Path != wantPath {
		path, _, _ := strings.Cut(location, "?")
		return fmt.Sprintf("303 to %s", path)
	}
	return ""
}

// networkKind names a failed request briefly, so errors group by cause.
func networkKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	default:
		return "network error"
	}
}
