package outbox_test

// These tests run the real providers (Twilio, the signed webhook, SMTP)
// behind the outbox against local fakes: an httptest Twilio, an httptest
// webhook receiver that checks signatures, and an in-process SMTP server.
// Time moves only through the fake clock; the only real waits are the
// provider timeouts the tests provoke on purpose (50 ms).

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email/smtp"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms/twilio"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms/webhook"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

const (
	provAccountSID = "AC0123456789abcdef0123456789abcdef"
	provAuthToken  = "twilio-auth-token-for-tests"
	provFrom       = "+15005550006"
	provTo         = "+14155550132"
	provHookSecret = "webhook-secret-shared-with-receiver"
)

// provCodeSMS is a verification SMS: its body holds a 6-digit code that must
// never be readable in the outbox table once the message is finished.
var provCodeSMS = sms.Message{To: provTo, Body: "Your SimpleModule code is 604917", Purpose: "phone-verification"}

const provCode = "604917"

// provConfig retries quickly: 1 s doubling to 8 s (±25 % jitter), so one
// provPasses step of 10 s always makes a retried message due again.
var provConfig = outbox.Config{MaxAttempts: 5, BaseBackoff: time.Second, MaxBackoff: 8 * time.Second}

const provStep = 10 * time.Second

func newProviderOutbox(t *testing.T, db *database.DB, clk clock.Clock, s sms.Sender, e email.Sender) *outbox.Outbox {
	t.Helper()
	if s == nil {
		s = sms.NewRecorder()
	}
	if e == nil {
		e = email.NewRecorder()
	}
	o, err := outbox.New(db, clk, secret, s, e, slog.New(slog.NewTextHandler(io.Discard, nil)), provConfig)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func enqueueProviderSMS(t *testing.T, o *outbox.Outbox, db *database.DB, m sms.Message, opt outbox.Options) string {
	t.Helper()
	var id string
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = o.EnqueueSMS(context.Background(), tx, m, opt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func enqueueProviderEmail(t *testing.T, o *outbox.Outbox, db *database.DB, m email.Message, opt outbox.Options) string {
	t.Helper()
	var id string
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = o.EnqueueEmail(context.Background(), tx, m, opt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// deliverOnce makes one pass and checks how many messages it claimed.
func deliverOnce(t *testing.T, o *outbox.Outbox, wantClaimed int) {
	t.Helper()
	n, err := o.DeliverDue(context.Background())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	if n != wantClaimed {
		t.Fatalf("DeliverDue claimed %d messages, want %d", n, wantClaimed)
	}
}

// provPasses runs DeliverDue passes, moving the fake clock one step after
// each, long enough for any backoff in provConfig to elapse.
func provPasses(t *testing.T, o *outbox.Outbox, clk *clock.Fake, passes int) {
	t.Helper()
	for range passes {
		if _, err := o.DeliverDue(context.Background()); err != nil {
			t.Fatalf("DeliverDue: %v", err)
		}
		clk.Advance(provStep)
	}
}

// rowState is what the outbox table holds for one message.
type rowState struct {
	status, lastError, errorCode string
	attempts                     int
}

func readRow(t *testing.T, db *database.DB, id string) rowState {
	t.Helper()
	var r rowState
	err := db.QueryRow(`SELECT status, attempts, last_error, error_code FROM outbox WHERE id = $1`, id).
		Scan(&r.status, &r.attempts, &r.lastError, &r.errorCode)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// assertTableHoldsNo reads every row of the outbox table, first its body and
// html columns and then every column as text, and fails if any holds secret.
func assertTableHoldsNo(t *testing.T, db *database.DB, secret string) {
	t.Helper()
	rows, err := db.Query(`SELECT body, html FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var body, html string
		if err := rows.Scan(&body, &html); err != nil {
			t.Fatal(err)
		}
		n++
		if strings.Contains(body, secret) || strings.Contains(html, secret) {
			t.Errorf("outbox row holds %q readable: body %q html %q", secret, body, html)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if n == 0 {
		t.Fatal("outbox table is empty; the check would prove nothing")
	}

	rows, err = db.Query(`SELECT * FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			s := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			if strings.Contains(s, secret) {
				t.Errorf("outbox column %s holds %q readable: %q", cols[i], secret, s)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// reply is how a fake HTTP provider answers one request.
type reply struct {
	status int
	body   string
	hang   bool // block until the client gives up (a provider timeout)
}

// fakeTwilio is an httptest Twilio Messages API. It checks the path, Basic
// auth and form of every request and answers from script in order, then
// with 201 once the script runs out.
type fakeTwilio struct {
	*httptest.Server
	mu       sync.Mutex
	script   []reply
	requests []url.Values // every request's form, including ones that hung
	accepted []url.Values // requests answered 2xx: the messages Twilio sent
}

func newFakeTwilio(t *testing.T, script ...reply) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{script: script}
	release := make(chan struct{})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if want := "/2010-04-01/Accounts/" + provAccountSID + "/Messages.json"; r.Method != http.MethodPost || r.URL.Path != want {
			t.Errorf("fake twilio: got %s %s, want POST %s", r.Method, r.URL.Path, want)
			http.Error(w, `{"code":20404,"message":"not found","status":404}`, http.StatusNotFound)
			return
		}
		if user, pass, ok := r.BasicAuth(); !ok || user != provAccountSID || pass != provAuthToken {
			t.Errorf("fake twilio: got basic auth %q/%q (present %v), want the account SID and token", user, pass, ok)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("fake twilio: got Content-Type %q, want a form", ct)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("fake twilio: parse form: %v", err)
		}
		form := r.PostForm
		for _, k := range []string{"To", "From", "Body"} {
			if form.Get(k) == "" {
				t.Errorf("fake twilio: form field %s is missing (form %v)", k, form)
			}
		}
		if form.Get("From") != provFrom || form.Has("MessagingServiceSid") {
			t.Errorf("fake twilio: got From %q MessagingServiceSid %q, want From %q only", form.Get("From"), form.Get("MessagingServiceSid"), provFrom)
		}

		f.mu.Lock()
		n := len(f.requests)
		f.requests = append(f.requests, form)
		rep := reply{status: http.StatusCreated}
		if n < len(f.script) {
			rep = f.script[n]
		}
		if rep.status/100 == 2 {
			f.accepted = append(f.accepted, form)
		}
		f.mu.Unlock()

		if rep.hang {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		body := rep.body
		if body == "" && rep.status/100 == 2 {
			body = fmt.Sprintf(`{"sid":"SM%032d","status":"queued"}`, n)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)                   // runs last: waits for handlers
	t.Cleanup(func() { close(release) }) // runs first: frees a hung handler
	return f
}

func (f *fakeTwilio) counts() (requests, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests), len(f.accepted)
}

func (f *fakeTwilio) acceptedForms() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.accepted...)
}

func newTwilioSender(t *testing.T, baseURL string, timeout time.Duration) *twilio.Sender {
	t.Helper()
	s, err := twilio.New(twilio.Config{
		AccountSID: provAccountSID,
		AuthToken:  provAuthToken,
		From:       provFrom,
		BaseURL:    baseURL,
		Timeout:    timeout,
	})
	if err != nil {
		t.Fatalf("twilio.New: %v", err)
	}
	return s
}

func TestProviderTwilioSuccessMarksSent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		tw := newFakeTwilio(t)
		o := newProviderOutbox(t, db, clk, newTwilioSender(t, tw.URL, 2*time.Second), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true, Ref: "phone:u1"})

		deliverOnce(t, o, 1)
		provPasses(t, o, clk, 3) // nothing left to send

		if reqs, acc := tw.counts(); reqs != 1 || acc != 1 {
			t.Fatalf("twilio requests: got %d (%d accepted), want 1", reqs, acc)
		}
		form := tw.acceptedForms()[0]
		if form.Get("To") != provTo || form.Get("Body") != provCodeSMS.Body {
			t.Errorf("twilio form: got To %q Body %q, want %q %q", form.Get("To"), form.Get("Body"), provTo, provCodeSMS.Body)
		}
		r := readRow(t, db, id)
		if r.status != outbox.StatusSent || r.attempts != 1 || r.lastError != "" {
			t.Errorf("row: got %+v, want sent after 1 attempt with no error", r)
		}
		m, ok, err := o.Latest(context.Background(), "phone:u1")
		if err != nil || !ok || m.Status != outbox.StatusSent || m.SentAt.IsZero() {
			t.Errorf("Latest: got %+v, %v, %v; want sent with a sent time", m, ok, err)
		}
	})
}

func TestProviderTwilioPermanentErrorFailsWithoutRetry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		tw := newFakeTwilio(t, reply{
			status: http.StatusBadRequest,
			body:   `{"code":21614,"message":"'To' number is not a valid mobile number","more_info":"https://www.twilio.com/docs/errors/21614","status":400}`,
		})
		o := newProviderOutbox(t, db, clk, newTwilioSender(t, tw.URL, 2*time.Second), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true, Ref: "phone:u2"})

		provPasses(t, o, clk, 10) // 100 s of fake time: any retry would have happened

		if reqs, _ := tw.counts(); reqs != 1 {
			t.Errorf("twilio requests: got %d, want exactly 1 (4xx is permanent)", reqs)
		}
		r := readRow(t, db, id)
		if r.status != outbox.StatusFailed || r.errorCode != twilio.CodeNotMobile || r.attempts != 1 {
			t.Errorf("row: got %+v, want failed with error_code %s after 1 attempt", r, twilio.CodeNotMobile)
		}
		if !strings.Contains(r.lastError, "not a valid mobile number") {
			t.Errorf("last_error: got %q, want Twilio's message", r.lastError)
		}
		m, _, _ := o.Latest(context.Background(), "phone:u2")
		if m.Status != outbox.StatusFailed || m.ErrorCode != "21614" {
			t.Errorf("Latest: got status %q code %q, want failed 21614", m.Status, m.ErrorCode)
		}
		// A failed code message keeps nothing readable either.
		assertTableHoldsNo(t, db, provCode)
	})
}

func TestProviderTwilioServerErrorsRetriedThenDeliveredOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		fiveHundred := reply{status: http.StatusInternalServerError, body: `{"code":20500,"message":"Internal Server Error","status":500}`}
		tw := newFakeTwilio(t, fiveHundred, fiveHundred, reply{status: http.StatusCreated})
		o := newProviderOutbox(t, db, clk, newTwilioSender(t, tw.URL, 2*time.Second), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true})

		deliverOnce(t, o, 1)
		deliverOnce(t, o, 0) // backing off: not due yet
		if reqs, _ := tw.counts(); reqs != 1 {
			t.Fatalf("twilio requests before the backoff elapsed: got %d, want 1", reqs)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusQueued || !strings.Contains(r.lastError, "500") {
			t.Fatalf("row after a 500: got %+v, want queued with the 500 recorded", r)
		}

		provPasses(t, o, clk, 8)

		if reqs, acc := tw.counts(); reqs != 3 || acc != 1 {
			t.Errorf("twilio requests: got %d (%d accepted), want 3 with 1 accepted", reqs, acc)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent || r.attempts != 3 || r.lastError != "" {
			t.Errorf("row: got %+v, want sent after 3 attempts, error cleared", r)
		}
	})
}

func TestProviderTwilioTimeoutRetriedThenDeliveredOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		tw := newFakeTwilio(t, reply{hang: true}, reply{status: http.StatusCreated})
		o := newProviderOutbox(t, db, clk, newTwilioSender(t, tw.URL, 50*time.Millisecond), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true})

		deliverOnce(t, o, 1)
		r := readRow(t, db, id)
		if r.status != outbox.StatusQueued || r.attempts != 1 || !strings.Contains(r.lastError, "deadline exceeded") {
			t.Fatalf("row after a timeout: got %+v, want queued after 1 attempt with a deadline error", r)
		}

		provPasses(t, o, clk, 5)

		if reqs, acc := tw.counts(); reqs != 2 || acc != 1 {
			t.Errorf("twilio requests: got %d (%d accepted), want 2 with 1 accepted", reqs, acc)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent || r.attempts != 2 {
			t.Errorf("row: got %+v, want sent after 2 attempts", r)
		}
	})
}

func TestProviderSensitiveSMSLeavesNoCodeInTable(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		tw := newFakeTwilio(t)
		o := newProviderOutbox(t, db, clk, newTwilioSender(t, tw.URL, 2*time.Second), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true, WipeAt: clk.Now().Add(10 * time.Minute)})

		// Encrypted while queued…
		assertTableHoldsNo(t, db, provCode)
		deliverOnce(t, o, 1)

		// …delivered in clear to the provider…
		forms := tw.acceptedForms()
		if len(forms) != 1 || !strings.Contains(forms[0].Get("Body"), provCode) {
			t.Fatalf("twilio got %v, want one message holding the code", forms)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent {
			t.Fatalf("row: got %+v, want sent", r)
		}
		// …and gone from the table afterwards.
		var body, html string
		if err := db.QueryRow(`SELECT body, html FROM outbox WHERE id = $1`, id).Scan(&body, &html); err != nil {
			t.Fatal(err)
		}
		if body != "" || html != "" {
			t.Errorf("after delivery: got body %q html %q, want both wiped", body, html)
		}
		assertTableHoldsNo(t, db, provCode)
	})
}

// hookDelivery is one request the webhook receiver saw.
type hookDelivery struct {
	payload        webhook.Payload
	idempotencyKey string
	verifyErr      error
	status         int
}

// hookReceiver is an SMS gateway bridge: it verifies each request's
// signature with webhook.Verify (401 when it does not match) and answers
// from script in order, then 200.
type hookReceiver struct {
	*httptest.Server
	mu         sync.Mutex
	script     []int
	deliveries []hookDelivery
}

func newHookReceiver(t *testing.T, clk clock.Clock, script ...int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{script: script}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("webhook receiver: read body: %v", err)
		}
		d := hookDelivery{idempotencyKey: r.Header.Get(webhook.HeaderIdempotencyKey)}
		d.verifyErr = webhook.Verify(provHookSecret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), raw, clk.Now(), 0)
		if err := json.Unmarshal(raw, &d.payload); err != nil {
			t.Errorf("webhook receiver: decode payload: %v", err)
		}
		h.mu.Lock()
		n := len(h.deliveries)
		switch {
		case d.verifyErr != nil:
			d.status = http.StatusUnauthorized
		case n < len(h.script):
			d.status = h.script[n]
		default:
			d.status = http.StatusOK
		}
		h.deliveries = append(h.deliveries, d)
		h.mu.Unlock()
		w.WriteHeader(d.status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) got() []hookDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookDelivery(nil), h.deliveries...)
}

func newWebhookSender(t *testing.T, clk clock.Clock, url, secret string) *webhook.Sender {
	t.Helper()
	s, err := webhook.New(webhook.Config{URL: url, Secret: secret, Timeout: 2 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatalf("webhook.New: %v", err)
	}
	return s
}

func TestProviderWebhookSuccessCarriesOutboxID(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		rc := newHookReceiver(t, clk)
		o := newProviderOutbox(t, db, clk, newWebhookSender(t, clk, rc.URL+"/sms", provHookSecret), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true})

		deliverOnce(t, o, 1)
		provPasses(t, o, clk, 3)

		got := rc.got()
		if len(got) != 1 {
			t.Fatalf("webhook requests: got %d, want 1", len(got))
		}
		d := got[0]
		if d.verifyErr != nil {
			t.Fatalf("signature: got %v, want valid", d.verifyErr)
		}
		want := webhook.Payload{ID: id, To: provCodeSMS.To, Body: provCodeSMS.Body, Purpose: provCodeSMS.Purpose}
		if d.payload != want || d.idempotencyKey != id {
			t.Errorf("got payload %+v key %q, want %+v with key %q (the outbox id)", d.payload, d.idempotencyKey, want, id)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent || r.attempts != 1 {
			t.Errorf("row: got %+v, want sent after 1 attempt", r)
		}
		assertTableHoldsNo(t, db, provCode)
	})
}

func TestProviderWebhookRetryKeepsSameIdempotencyKey(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		rc := newHookReceiver(t, clk, http.StatusServiceUnavailable)
		o := newProviderOutbox(t, db, clk, newWebhookSender(t, clk, rc.URL, provHookSecret), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true})

		deliverOnce(t, o, 1)
		if r := readRow(t, db, id); r.status != outbox.StatusQueued || !strings.Contains(r.lastError, "503") {
			t.Fatalf("row after a 503: got %+v, want queued with the 503 recorded", r)
		}
		provPasses(t, o, clk, 5)

		got := rc.got()
		if len(got) != 2 {
			t.Fatalf("webhook requests: got %d, want 2 (503 then 200)", len(got))
		}
		for i, d := range got {
			if d.verifyErr != nil {
				t.Errorf("request %d: signature: got %v, want valid", i, d.verifyErr)
			}
			if d.payload.ID != id || d.idempotencyKey != id {
				t.Errorf("request %d: got id %q key %q, want the outbox id %q for both", i, d.payload.ID, d.idempotencyKey, id)
			}
		}
		if got[0].status != http.StatusServiceUnavailable || got[1].status != http.StatusOK {
			t.Errorf("answers: got %d then %d, want 503 then 200", got[0].status, got[1].status)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent || r.attempts != 2 {
			t.Errorf("row: got %+v, want sent after 2 attempts", r)
		}
	})
}

func TestProviderWebhookBadSignatureFailsWithoutRetry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		rc := newHookReceiver(t, clk)
		o := newProviderOutbox(t, db, clk, newWebhookSender(t, clk, rc.URL, "not-the-receivers-secret-at-all"), nil)
		id := enqueueProviderSMS(t, o, db, provCodeSMS, outbox.Options{Sensitive: true})

		provPasses(t, o, clk, 10)

		got := rc.got()
		if len(got) != 1 {
			t.Fatalf("webhook requests: got %d, want exactly 1 (401 is permanent)", len(got))
		}
		if !errors.Is(got[0].verifyErr, webhook.ErrInvalidSignature) || got[0].status != http.StatusUnauthorized {
			t.Errorf("receiver: got %v answered %d, want an invalid signature answered 401", got[0].verifyErr, got[0].status)
		}
		r := readRow(t, db, id)
		if r.status != outbox.StatusFailed || r.attempts != 1 || !strings.Contains(r.lastError, "401") {
			t.Errorf("row: got %+v, want failed after 1 attempt naming 401", r)
		}
		assertTableHoldsNo(t, db, provCode)
	})
}

// mailbox is a minimal in-process SMTP server (emersion/go-smtp) that keeps
// every message it accepts.
type mailbox struct {
	port int
	mu   sync.Mutex
	msgs []mailboxMsg
	stop func()
}

type mailboxMsg struct {
	from string
	to   []string
	data []byte
}

func (m *mailbox) received() []mailboxMsg {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mailboxMsg(nil), m.msgs...)
}

// startMailbox serves SMTP on 127.0.0.1:port (0 picks a free port). It stops
// at the end of the test, or earlier through stop.
func startMailbox(t *testing.T, port int) (*mailbox, error) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	mb := &mailbox{port: l.Addr().(*net.TCPAddr).Port}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &mailboxSession{box: mb}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	var once sync.Once
	mb.stop = func() {
		once.Do(func() {
			_ = srv.Close()
			_ = l.Close() // in case Serve had not registered it yet
			<-done
		})
	}
	t.Cleanup(mb.stop)
	return mb, nil
}

type mailboxSession struct {
	box *mailbox
	cur mailboxMsg
}

func (s *mailboxSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.cur.from = from
	return nil
}

func (s *mailboxSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *mailboxSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *mailboxSession) Reset()        { s.cur = mailboxMsg{} }
func (s *mailboxSession) Logout() error { return nil }

func newSMTPSender(t *testing.T, port int) *smtp.Sender {
	t.Helper()
	s, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: port, TLS: smtp.TLSNone, From: "no-reply@example.com", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("smtp.New: %v", err)
	}
	return s
}

// decodedMail is the subject and the decoded text/plain and text/html parts
// of one received message.
type decodedMail struct {
	subject, text, html string
}

func decodeMail(t *testing.T, data []byte) decodedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	var d decodedMail
	var wd mime.WordDecoder
	if d.subject, err = wd.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	var walk func(contentType, encoding string, r io.Reader)
	walk = func(contentType, encoding string, r io.Reader) {
		media, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			t.Fatalf("content type %q: %v", contentType, err)
		}
		if strings.HasPrefix(media, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					t.Fatalf("next part: %v", err)
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
		if strings.EqualFold(encoding, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		switch media {
		case "text/plain":
			d.text = strings.TrimRight(string(b), "\r\n")
		case "text/html":
			d.html = strings.TrimRight(string(b), "\r\n")
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return d
}

// provConfirmEmail is a confirmation email whose link holds a token.
var provConfirmEmail = email.Message{
	To:      "ada@example.com",
	Subject: "Confirm your email",
	Text:    "Open http://127.0.0.1:8080/account/confirm-email?code=tok739164 to confirm.",
	HTML:    `<p><a href="http://127.0.0.1:8080/account/confirm-email?code=tok739164">Confirm</a></p>`,
}

func TestProviderSMTPDeliversEnqueuedEmail(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		mb, err := startMailbox(t, 0)
		if err != nil {
			t.Fatal(err)
		}
		o := newProviderOutbox(t, db, clk, nil, newSMTPSender(t, mb.port))
		id := enqueueProviderEmail(t, o, db, provConfirmEmail, outbox.Options{Sensitive: true})

		deliverOnce(t, o, 1)
		provPasses(t, o, clk, 3)

		got := mb.received()
		if len(got) != 1 {
			t.Fatalf("smtp messages: got %d, want 1", len(got))
		}
		if got[0].from != "no-reply@example.com" || len(got[0].to) != 1 || got[0].to[0] != provConfirmEmail.To {
			t.Errorf("envelope: got from %q to %q, want no-reply@example.com to [%s]", got[0].from, got[0].to, provConfirmEmail.To)
		}
		d := decodeMail(t, got[0].data)
		if d.subject != provConfirmEmail.Subject || d.text != provConfirmEmail.Text || d.html != provConfirmEmail.HTML {
			t.Errorf("message: got %+v, want subject %q text %q html %q", d, provConfirmEmail.Subject, provConfirmEmail.Text, provConfirmEmail.HTML)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent || r.attempts != 1 {
			t.Errorf("row: got %+v, want sent after 1 attempt", r)
		}
		// Text and HTML both held the token; both are wiped.
		assertTableHoldsNo(t, db, "tok739164")
	})
}

func TestProviderSMTPStoppedServerRetriedThenDeliveredAfterRestart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, kind string) {
		db := open(t, dbtest.URL(t, kind))
		clk := start()
		first, err := startMailbox(t, 0)
		if err != nil {
			t.Fatal(err)
		}
		port := first.port
		first.stop() // the mail server goes down with the message still pending
		o := newProviderOutbox(t, db, clk, nil, newSMTPSender(t, port))
		id := enqueueProviderEmail(t, o, db, provConfirmEmail, outbox.Options{Sensitive: true})

		deliverOnce(t, o, 1)
		deliverOnce(t, o, 0) // backing off
		clk.Advance(provStep)
		deliverOnce(t, o, 1)
		r := readRow(t, db, id)
		wantErr := "smtp send to 127.0.0.1:" + strconv.Itoa(port)
		if r.status != outbox.StatusQueued || r.attempts != 2 || !strings.Contains(r.lastError, wantErr) {
			t.Fatalf("row while the server is down: got %+v, want queued after 2 attempts with an error naming %s", r, wantErr)
		}
		if strings.Contains(r.lastError, "tok739164") {
			t.Errorf("last_error holds the token: %q", r.lastError)
		}

		// Restart on the same port; should another process have taken it
		// meanwhile, restart elsewhere and re-point the sender.
		second, err := startMailbox(t, port)
		if err != nil {
			t.Logf("port %d taken on restart (%v); using a new port", port, err)
			if second, err = startMailbox(t, 0); err != nil {
				t.Fatal(err)
			}
			o.Email = newSMTPSender(t, second.port)
		}
		clk.Advance(provStep)
		provPasses(t, o, clk, 3)

		if got := second.received(); len(got) != 1 {
			t.Fatalf("smtp messages after restart: got %d, want 1", len(got))
		} else if d := decodeMail(t, got[0].data); d.subject != provConfirmEmail.Subject || d.text != provConfirmEmail.Text {
			t.Errorf("message: got %+v, want subject %q text %q", d, provConfirmEmail.Subject, provConfirmEmail.Text)
		}
		if r := readRow(t, db, id); r.status != outbox.StatusSent || r.attempts != 3 || r.lastError != "" {
			t.Errorf("row after restart: got %+v, want sent after 3 attempts, error cleared", r)
		}
	})
}
