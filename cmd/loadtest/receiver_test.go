package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/sms/webhook"
)

const testSecret = "a-test-secret-of-some-length"

// The receiver's own check must accept what the server's sender signs, and
// refuse everything else.
func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"id":"m1","to":"+12015550100","body":"code 123456","purpose":"phone_verification"}`)
	valid := webhook.Sign(testSecret, ts, body)
	tests := []struct {
		name      string
		secret    string
		timestamp string
		signature string
		body      []byte
		want      error
	}{
		{name: "signed by the server's sender", secret: testSecret, timestamp: ts, signature: valid, body: body},
		{name: "among other entries", secret: testSecret, timestamp: ts, signature: "v0=abc, v1=00ff," + valid, body: body},
		{name: "other secret", secret: testSecret + "x", timestamp: ts, signature: valid, body: body, want: errBadSignature},
		{name: "body changed", secret: testSecret, timestamp: ts, signature: valid, body: append([]byte(" "), body...), want: errBadSignature},
		{name: "no signature", secret: testSecret, timestamp: ts, body: body, want: errBadSignature},
		{name: "signature without scheme", secret: testSecret, timestamp: ts, signature: strings.TrimPrefix(valid, "v1="), body: body, want: errBadSignature},
		{name: "not hex", secret: testSecret, timestamp: ts, signature: "v1=zz", body: body, want: errBadSignature},
		{name: "no timestamp", secret: testSecret, signature: valid, body: body, want: errBadTimestamp},
		{name: "timestamp not a number", secret: testSecret, timestamp: "soon", signature: valid, body: body, want: errBadTimestamp},
		{name: "signed long ago", secret: testSecret, timestamp: strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10),
			signature: webhook.Sign(testSecret, strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), body), body: body, want: errStaleTimestamp},
		{name: "signed in the future", secret: testSecret, timestamp: strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10),
			signature: webhook.Sign(testSecret, strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), body), body: body, want: errStaleTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifySignature(tt.secret, tt.timestamp, tt.signature, tt.body, now, signatureTolerance)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestExtractCode(t *testing.T) {
	tests := []struct {
		name, body, want string
		ok               bool
	}{
		{name: "autofill line", body: "Your SimpleModule verification code is 123456. It expires in 10 minutes. Don't share it.\n\n@127.0.0.1 #123456", want: "123456", ok: true},
		{name: "autofill wins over other digits", body: "Order 999999 ready.\n@example.com #654321\n", want: "654321", ok: true},
		{name: "plain six digits", body: "Your code is 012345.", want: "012345", ok: true},
		{name: "no code", body: "Hello", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := extractCode(tt.body)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q, %v, want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// failures collects the error kinds a receiver reports.
type failures struct {
	mu    sync.Mutex
	kinds []string
}

func (f *failures) add(kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kinds = append(f.kinds, kind)
}

func (f *failures) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.kinds...)
}

// signedRequest builds a delivery attempt as the server's webhook sender
// makes it.
func signedRequest(t *testing.T, ctx context.Context, secret, id, to, body string) *http.Request {
	t.Helper()
	payload := `{"id":"` + id + `","to":"` + to + `","body":` + strconv.Quote(body) + `,"purpose":"phone_verification"}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/sms", strings.NewReader(payload))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(webhook.HeaderIdempotencyKey, id)
	r.Header.Set(webhook.HeaderTimestamp, ts)
	r.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, []byte(payload)))
	return r
}

func TestReceiverDeliversOnceAndCountsDuplicates(t *testing.T) {
	var f failures
	rc := newReceiver(testSecret, 0, f.add)
	const number = "+12015550100"
	codes, done := rc.expect(number)
	defer done()

	w := httptest.NewRecorder()
	rc.ServeHTTP(w, signedRequest(t, context.Background(), testSecret, "m1", number, "Code 111111.\n\n@localhost #111111"))
	if w.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200", w.Code)
	}
	select {
	case d := <-codes:
		if d.Code != "111111" || d.ID != "m1" {
			t.Errorf("got delivery %+v, want code 111111 of m1", d)
		}
	default:
		t.Fatal("got no code for the waiting user")
	}

	// The outbox retrying an accepted message is a duplicate SMS.
	w = httptest.NewRecorder()
	rc.ServeHTTP(w, signedRequest(t, context.Background(), testSecret, "m1", number, "Code 111111.\n\n@localhost #111111"))
	if w.Code != http.StatusOK {
		t.Errorf("got status %d for the repeat, want 200 (already handled)", w.Code)
	}
	select {
	case d := <-codes:
		t.Errorf("got the repeat handed over again: %+v", d)
	default:
	}
	// Nobody waits for this one.
	rc.ServeHTTP(httptest.NewRecorder(), signedRequest(t, context.Background(), testSecret, "m2", "+12015550101", "#222222"))

	got := rc.snapshot()
	if want := (receiverCounts{Duplicates: 1, Unmatched: 1}); got != want {
		t.Errorf("got counts %+v, want %+v", got, want)
	}
	if kinds := f.list(); len(kinds) != 0 {
		t.Errorf("got errors %v, want none", kinds)
	}
}

func TestReceiverRefusesBadSignature(t *testing.T) {
	var f failures
	rc := newReceiver(testSecret, 0, f.add)
	codes, done := rc.expect("+12015550100")
	defer done()
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, signedRequest(t, context.Background(), "another-secret-entirely", "m1", "+12015550100", "#123456"))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("got status %d, want 401", w.Code)
	}
	if kinds := f.list(); len(kinds) != 1 || kinds[0] != errBadSignature.Error() {
		t.Errorf("got errors %v, want [%s]", kinds, errBadSignature)
	}
	select {
	case d := <-codes:
		t.Errorf("got a code from an unsigned request: %+v", d)
	default:
	}
}

// A hanging recipient's first attempt stays open until the server gives up;
// the retry of the same message is delivered and is not a duplicate.
func TestReceiverHangsFirstAttempt(t *testing.T) {
	var f failures
	rc := newReceiver(testSecret, 0, f.add)
	defer rc.close()
	const number = "+12015550100"
	rc.hang(number)
	codes, done := rc.expect(number)
	defer done()

	ctx, giveUp := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		rc.ServeHTTP(httptest.NewRecorder(), signedRequest(t, ctx, testSecret, "m1", number, "#333333"))
		close(finished)
	}()
	select {
	case <-finished:
		t.Fatal("got an answer to the first attempt, want it to hang")
	case d := <-codes:
		t.Fatalf("got code %+v from the hanging attempt", d)
	case <-time.After(50 * time.Millisecond):
	}
	giveUp()
	<-finished

	w := httptest.NewRecorder()
	rc.ServeHTTP(w, signedRequest(t, context.Background(), testSecret, "m1", number, "#333333"))
	if w.Code != http.StatusOK {
		t.Fatalf("got status %d for the retry, want 200", w.Code)
	}
	if d := <-codes; d.Code != "333333" {
		t.Errorf("got code %q, want 333333", d.Code)
	}
	if got, want := rc.snapshot(), (receiverCounts{Hangs: 1, Retries: 1}); got != want {
		t.Errorf("got counts %+v, want %+v", got, want)
	}
}
