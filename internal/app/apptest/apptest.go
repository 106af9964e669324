// Package apptest starts the whole application against a real database for
// integration tests: SQLite in a temporary directory, and PostgreSQL in a
// fresh schema when SIMPLEMODULE_TEST_POSTGRES_URL is set. Requests go
// through HTTP, with a fake clock and recording senders.
package apptest

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/modules/users"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

// PostgresEnv names the variable holding the test PostgreSQL URL.
const PostgresEnv = dbtest.PostgresEnv

// Databases are the engines every integration test runs on.
var Databases = dbtest.Engines

// ForEachDB runs fn as a subtest per database (see dbtest.ForEach).
func ForEachDB(t *testing.T, fn func(t *testing.T, db string)) { t.Helper(); dbtest.ForEach(t, fn) }

// RequirePostgres skips (or on CI fails) when PostgreSQL is not configured.
func RequirePostgres(t testing.TB) string { t.Helper(); return dbtest.RequirePostgres(t) }

// Password is a password the strength rules accept, for tests that need
// one and do not care which.
const Password = "violet otter lantern 57"

// Env is one running application.
type Env struct {
	T      testing.TB
	URL    string
	App    *app.App
	Config config.Config
	Clock  *clock.Fake
	SMS    *SMSLog   // what was delivered by SMS (reading it first delivers the outbox)
	Email  *EmailLog // what was delivered by email (likewise)
	Events *EventLog
	Log    *LogBuffer
	DBURL  string

	// PasswordHashes counts argon2id computations (hashes and
	// verifications), so a test can assert what a request costs.
	PasswordHashes atomic.Int64
}

// EventLog records every event published on the bus.
type EventLog struct {
	mu     sync.Mutex
	events []any
}

// All returns a copy of the recorded events.
func (l *EventLog) All() []any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]any(nil), l.events...)
}

// LogBuffer collects the application's log output.
type LogBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// DatabaseURL returns a fresh, empty database for db ("sqlite" or "postgres").
func DatabaseURL(t testing.TB, db string) string { t.Helper(); return dbtest.URL(t, db) }

// Start runs the application on db with test settings; change adjusts the
// configuration before start.
func Start(t testing.TB, db string, change func(*config.Config)) *Env {
	t.Helper()
	cfg, _, err := config.Load("test", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = DatabaseURL(t, db)
	// Tests create many accounts from 127.0.0.1; the registration cap is
	// tested on its own by switching it back on.
	cfg.RegistrationsPerIP = 0
	if change != nil {
		change(&cfg)
	}
	e := &Env{T: t, Config: cfg, Clock: clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)),
		Events: &EventLog{}, Log: &LogBuffer{}, DBURL: cfg.DatabaseURL}
	e.SMS = &SMSLog{Recorder: sms.NewRecorder(), env: e}
	e.Email = &EmailLog{Recorder: email.NewRecorder(), env: e}
	log := slog.New(slog.NewTextHandler(e.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(nil)
	e.Config.BaseURL = baseURL(cfg, srv.Listener.Addr())
	a, err := app.New(context.Background(), e.Config, log, app.Options{Clock: e.Clock, SMS: e.SMS.Recorder, Email: e.Email.Recorder, Passwords: users.TestPasswordParams(),
		PasswordHashed: func() { e.PasswordHashes.Add(1) }})
	if err != nil {
		t.Fatalf("start app: %v", err)
	}
	a.Bus.Subscribe(func(_ context.Context, ev any) {
		e.Events.mu.Lock()
		e.Events.events = append(e.Events.events, ev)
		e.Events.mu.Unlock()
	})
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		// Close writes the session writer's last notes, then closes the database.
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	e.App, e.URL = a, e.Config.BaseURL
	return e
}

// Drain delivers everything due in the outbox, as the worker would. Tests
// run no background worker, so delivery happens exactly when they ask.
func (e *Env) Drain() {
	e.T.Helper()
	for {
		n, err := e.App.Outbox.DeliverDue(context.Background())
		if err != nil {
			e.T.Fatalf("deliver outbox: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// SMSLog is the SMS recorder seen after delivering the outbox.
type SMSLog struct {
	*sms.Recorder
	env *Env
}

// Messages delivers the outbox, then lists every SMS sent.
func (l *SMSLog) Messages() []sms.Message { l.env.Drain(); return l.Recorder.Messages() }

// Last delivers the outbox, then returns the latest SMS to to.
func (l *SMSLog) Last(to string) (sms.Message, bool) { l.env.Drain(); return l.Recorder.Last(to) }

// Count delivers the outbox, then counts SMS sent.
func (l *SMSLog) Count() int { l.env.Drain(); return l.Recorder.Count() }

// EmailLog is the email recorder seen after delivering the outbox.
type EmailLog struct {
	*email.Recorder
	env *Env
}

// Messages delivers the outbox, then lists every email sent.
func (l *EmailLog) Messages() []email.Message { l.env.Drain(); return l.Recorder.Messages() }

// Last delivers the outbox, then returns the latest email to to.
func (l *EmailLog) Last(to string) (email.Message, bool) { l.env.Drain(); return l.Recorder.Last(to) }

// Count delivers the outbox, then counts emails sent.
func (l *EmailLog) Count() int { l.env.Drain(); return l.Recorder.Count() }

// Client is one browser: its own cookie jar, redirects not followed.
type Client struct {
	env  *Env
	HTTP *http.Client
}

// Response is a read response.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// NewClient returns a fresh browser.
func (e *Env) NewClient() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{env: e, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Do sends req and reads the whole response.
func (c *Client) Do(req *http.Request) *Response {
	c.env.T.Helper()
	res, err := c.HTTP.Do(req)
	if err != nil {
		c.env.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// Get fetches path (or a full URL).
func (c *Client) Get(path string) *Response {
	c.env.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.abs(path), nil)
	return c.Do(req)
}

// Post submits a form to path as a same-origin browser would.
func (c *Client) Post(path string, form url.Values) *Response {
	c.env.T.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.abs(path), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.Do(req)
}

func (c *Client) abs(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return c.env.URL + path
}

// Register creates an account as a person does — the sign-up form, then
// the sign-in form, since signing up signs nobody in — and leaves this
// client signed in, its email still unconfirmed. With
// SIMPLEMODULE_REQUIRE_CONFIRMED_EMAIL it only signs up.
func (c *Client) Register(addr, pw string) {
	c.env.T.Helper()
	res := c.Post("/account/register", url.Values{"email": {addr}, "password": {pw}, "confirm_password": {pw}})
	if res.Status != http.StatusSeeOther {
		c.env.T.Fatalf("register %s: got status %d, want 303; body: %s", addr, res.Status, Excerpt(res.Body))
	}
	if !c.env.Config.RequireConfirmedEmail {
		c.Login(addr, pw)
	}
}

// Login signs in and fails the test unless it succeeds.
func (c *Client) Login(addr, pw string) {
	c.env.T.Helper()
	res := c.SubmitLogin(addr, pw)
	if res.Status != http.StatusSeeOther {
		c.env.T.Fatalf("login %s: got status %d, want 303; body: %s", addr, res.Status, Excerpt(res.Body))
	}
}

// SubmitLogin posts the sign-in form and returns the answer, whatever it is.
func (c *Client) SubmitLogin(addr, pw string) *Response {
	c.env.T.Helper()
	return c.Post("/account/login", Form("email", addr, "password", pw))
}

// WantSignedIn checks that c can (or cannot) open /account/manage.
func WantSignedIn(t testing.TB, c *Client, want bool) {
	t.Helper()
	res := c.Get("/account/manage")
	switch {
	case want && res.Status != http.StatusOK:
		t.Errorf("GET /account/manage: got %d (Location %q), want 200 (signed in)", res.Status, res.Header.Get("Location"))
	case !want && (res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login")):
		t.Errorf("GET /account/manage: got %d (Location %q), want 303 to /account/login (signed out)", res.Status, res.Header.Get("Location"))
	}
}

// Form builds url.Values from key, value pairs.
func Form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

var testIDText = map[string]*regexp.Regexp{}
var testIDMu sync.Mutex

// TestID returns the text inside the element carrying data-testid=id
// (tags stripped, space trimmed), and whether it was found.
func TestID(body, id string) (string, bool) {
	testIDMu.Lock()
	re, ok := testIDText[id]
	if !ok {
		re = regexp.MustCompile(`(?s)data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</(span|div|p|strong|h1|a|section|button)>`)
		testIDText[id] = re
	}
	testIDMu.Unlock()
	m := re.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	text := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(m[1], "")
	text = strings.ReplaceAll(text, "✓ ", "")
	return strings.TrimSpace(text), true
}

// Excerpt shortens a body for failure messages, keeping any form error.
func Excerpt(body string) string {
	if msg, ok := TestID(body, "form-error"); ok {
		return "form-error: " + msg
	}
	if len(body) > 300 {
		return body[:300] + "…"
	}
	return body
}

var codeRE = regexp.MustCompile(`verification code is (\d{6})`)

// LastCode returns the code in the latest SMS to number.
func (e *Env) LastCode(number string) string {
	e.T.Helper()
	m, ok := e.SMS.Last(number)
	if !ok {
		e.T.Fatalf("no SMS to %s", number)
	}
	c := codeRE.FindStringSubmatch(m.Body)
	if c == nil {
		e.T.Fatalf("no code in SMS %q", m.Body)
	}
	return c[1]
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// LastLink returns the first link in the latest email to addr, as a path
// with query, ready for Client.Get.
func (e *Env) LastLink(addr string) string {
	e.T.Helper()
	m, ok := e.Email.Last(addr)
	if !ok {
		e.T.Fatalf("no email to %s", addr)
	}
	l := linkRE.FindString(m.Text)
	if l == "" {
		e.T.Fatalf("no link in email %q", m.Text)
	}
	u, err := url.Parse(l)
	if err != nil {
		e.T.Fatal(err)
	}
	return u.RequestURI()
}

// Count runs a COUNT query against the application's database.
func (e *Env) Count(query string, args ...any) int {
	e.T.Helper()
	var n int
	if err := e.App.DB.QueryRow(query, args...).Scan(&n); err != nil {
		e.T.Fatalf("%s: %v", query, err)
	}
	return n
}

var (
	elementTags   = regexp.MustCompile(`<[^>]*>`)
	elementSpaces = regexp.MustCompile(`\s+`)
)

// ElementText returns the text of the first element carrying data-testid=id,
// whatever its tag (tags stripped, entities decoded, white space
// collapsed), and whether one was found.
func ElementText(body, id string) (string, bool) {
	i := strings.Index(body, `data-testid="`+id+`"`)
	if i < 0 {
		return "", false
	}
	open := strings.LastIndex(body[:i], "<")
	if open < 0 {
		return "", false
	}
	name := body[open+1:]
	if j := strings.IndexAny(name, " \t\n>"); j >= 0 {
		name = name[:j]
	}
	gt := strings.Index(body[i:], ">")
	if gt < 0 {
		return "", false
	}
	rest := body[i+gt+1:]
	if end := strings.Index(rest, "</"+name+">"); end >= 0 {
		rest = rest[:end]
	} else {
		rest = "" // a void element (input, img): no text
	}
	text := html.UnescapeString(elementTags.ReplaceAllString(rest, " "))
	return strings.TrimSpace(elementSpaces.ReplaceAllString(text, " ")), true
}
