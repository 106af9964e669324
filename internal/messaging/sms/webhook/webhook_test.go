package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms/webhook"
)

const secret = "0123456789abcdef-shared-secret"

// sentAt is the fixed signing time; the receiver checks against the same
// clock, so tests do not depend on the wall clock.
var sentAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// codeMessage holds a code that must never show up in an error.
var codeMessage = sms.Message{To: "+14155550123", Body: "Your code is 493817", Purpose: "phone-verification"}

// delivery is one request the receiver accepted.
type delivery struct {
	payload        webhook.Payload
	idempotencyKey string
	contentType    string
	timestamp      string
}

// receiver is a gateway bridge that verifies signatures with its own secret
// and answers status once the request is verified.
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []delivery
	requests   int
}

func newReceiver(t *testing.T, receiverSecret string, status int) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.requests++
		rc.mu.Unlock()
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
			return
		}
		ts := r.Header.Get(webhook.HeaderTimestamp)
		if err := webhook.Verify(receiverSecret, ts, r.Header.Get(webhook.HeaderSignature), body, sentAt, time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.deliveries = append(rc.deliveries, delivery{
			payload:        p,
			idempotencyKey: r.Header.Get(webhook.HeaderIdempotencyKey),
			contentType:    r.Header.Get("Content-Type"),
			timestamp:      ts,
		})
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.deliveries...)
}

func newSender(t *testing.T, c webhook.Config) *webhook.Sender {
	t.Helper()
	if c.Secret == "" {
		c.Secret = secret
	}
	if c.Now == nil {
		c.Now = func() time.Time { return sentAt }
	}
	s, err := webhook.New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSendSuccess(t *testing.T) {
	rc := newReceiver(t, secret, http.StatusAccepted)
	var s sms.Sender = newSender(t, webhook.Config{URL: rc.URL + "/sms"})

	if err := s.Send(context.Background(), codeMessage); err != nil {
		t.Fatalf("Send: got error %v, want nil", err)
	}
	if err := s.Send(context.Background(), codeMessage); err != nil {
		t.Fatalf("second Send: got error %v, want nil", err)
	}

	got := rc.got()
	if len(got) != 2 {
		t.Fatalf("got %d deliveries, want 2", len(got))
	}
	for _, d := range got {
		want := webhook.Payload{ID: d.payload.ID, To: codeMessage.To, Body: codeMessage.Body, Purpose: codeMessage.Purpose}
		if d.payload != want {
			t.Errorf("got payload %+v, want %+v", d.payload, want)
		}
		if d.payload.ID == "" {
			t.Error("got empty id, want a generated one")
		}
		if d.idempotencyKey != d.payload.ID {
			t.Errorf("got Idempotency-Key %q, want the payload id %q", d.idempotencyKey, d.payload.ID)
		}
		if d.contentType != "application/json" {
			t.Errorf("got Content-Type %q, want application/json", d.contentType)
		}
		if want := strconv.FormatInt(sentAt.Unix(), 10); d.timestamp != want {
			t.Errorf("got timestamp %q, want %q", d.timestamp, want)
		}
	}
	if got[0].payload.ID == got[1].payload.ID {
		t.Errorf("got the same id %q twice, want a new one per Send", got[0].payload.ID)
	}
}

func TestSendWithID(t *testing.T) {
	rc := newReceiver(t, secret, http.StatusOK)
	s := newSender(t, webhook.Config{URL: rc.URL})

	if err := s.SendWithID(context.Background(), "outbox-42", codeMessage); err != nil {
		t.Fatalf("SendWithID: got error %v, want nil", err)
	}
	got := rc.got()
	if len(got) != 1 {
		t.Fatalf("got %d deliveries, want 1", len(got))
	}
	if got[0].payload.ID != "outbox-42" || got[0].idempotencyKey != "outbox-42" {
		t.Errorf("got id %q and key %q, want outbox-42 for both", got[0].payload.ID, got[0].idempotencyKey)
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		id   string
		msg  sms.Message
	}{
		{name: "id with a newline", id: "a\nb", msg: codeMessage},
		{name: "id with a space", id: "a b", msg: codeMessage},
		{name: "id too long", id: strings.Repeat("x", 201), msg: codeMessage},
		{name: "no recipient", id: "1", msg: sms.Message{Body: "hi"}},
		{name: "no body", id: "1", msg: sms.Message{To: "+14155550123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, secret, http.StatusOK)
			s := newSender(t, webhook.Config{URL: rc.URL})
			err := s.SendWithID(context.Background(), tt.id, tt.msg)
			if !messaging.IsPermanent(err) {
				t.Errorf("got error %v, want a permanent one", err)
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if rc.requests != 0 {
				t.Errorf("got %d requests, want 0", rc.requests)
			}
		})
	}
}

func TestSendWrongSecretIsPermanent(t *testing.T) {
	rc := newReceiver(t, "another-secret-of-the-receiver", http.StatusOK)
	s := newSender(t, webhook.Config{URL: rc.URL})

	err := s.Send(context.Background(), codeMessage)
	if !messaging.IsPermanent(err) {
		t.Fatalf("got error %v, want a permanent one", err)
	}
	if !strings.Contains(err.Error(), "401") {
		t.Errorf("got error %q, want it to name status 401", err)
	}
	if n := len(rc.got()); n != 0 {
		t.Errorf("got %d accepted deliveries, want 0", n)
	}
}

func TestSendStatus(t *testing.T) {
	tests := []struct {
		status        int
		wantPermanent bool
		wantKind      messaging.FailureKind // without a failure field in the answer
	}{
		{status: http.StatusBadRequest, wantPermanent: true, wantKind: messaging.FailureOther},
		{status: http.StatusForbidden, wantPermanent: true, wantKind: messaging.FailureRejected},
		{status: http.StatusNotFound, wantPermanent: true, wantKind: messaging.FailureRejected},
		{status: http.StatusUnprocessableEntity, wantPermanent: true, wantKind: messaging.FailureOther},
		{status: http.StatusRequestTimeout},
		{status: http.StatusTooManyRequests},
		{status: http.StatusInternalServerError},
		{status: http.StatusBadGateway},
		{status: http.StatusServiceUnavailable},
		{status: http.StatusFound},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			var requests int
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				requests++
				mu.Unlock()
				// Echo the body back, as a careless gateway might: it must
				// not reach the error.
				body, _ := io.ReadAll(r.Body)
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(tt.status)
				_, _ = w.Write(body)
			}))
			t.Cleanup(srv.Close)
			s := newSender(t, webhook.Config{URL: srv.URL + "/hook?token=gateway-token"})

			err := s.Send(context.Background(), codeMessage)
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if got := messaging.IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("got permanent %v, want %v (error %v)", got, tt.wantPermanent, err)
			}
			if got := messaging.KindOf(err); got != tt.wantKind {
				t.Errorf("got kind %q, want %q", got, tt.wantKind)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tt.status)) {
				t.Errorf("got error %q, want it to name status %d", err, tt.status)
			}
			for _, leak := range []string{secret, "493817", "gateway-token"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("got error %q, want it without %q", err, leak)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if requests != 1 {
				t.Errorf("got %d requests, want 1 (redirects are not followed)", requests)
			}
		})
	}
}

// A receiver names the recipient's problem in its answer; the sender turns
// the protocol's word into a provider-neutral kind.
func TestSendRefusalKinds(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		answer   string
		wantKind messaging.FailureKind
	}{
		{name: "invalid recipient", status: http.StatusUnprocessableEntity, answer: `{"failure":"invalid_recipient"}`, wantKind: messaging.FailureInvalidRecipient},
		{name: "unreachable", status: http.StatusBadRequest, answer: `{"failure":"unreachable"}`, wantKind: messaging.FailureUnreachable},
		{name: "blocked", status: http.StatusBadRequest, answer: `{"failure":"blocked","detail":"replied STOP"}`, wantKind: messaging.FailureBlocked},
		{name: "rejected", status: http.StatusBadRequest, answer: `{"failure":"rejected"}`, wantKind: messaging.FailureRejected},
		{name: "unknown word", status: http.StatusBadRequest, answer: `{"failure":"on-fire"}`, wantKind: messaging.FailureOther},
		{name: "not json", status: http.StatusForbidden, answer: `no`, wantKind: messaging.FailureRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.answer)
			}))
			t.Cleanup(srv.Close)
			s := newSender(t, webhook.Config{URL: srv.URL})
			err := s.Send(context.Background(), codeMessage)
			if !messaging.IsPermanent(err) {
				t.Fatalf("got error %v, want a permanent one", err)
			}
			if got := messaging.KindOf(err); got != tt.wantKind {
				t.Errorf("got kind %q, want %q", got, tt.wantKind)
			}
		})
	}
	// A failure word in a transient answer does not make it permanent.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"failure":"invalid_recipient"}`)
	}))
	t.Cleanup(srv.Close)
	err := newSender(t, webhook.Config{URL: srv.URL}).Send(context.Background(), codeMessage)
	if err == nil || messaging.IsPermanent(err) || messaging.KindOf(err) != "" {
		t.Errorf("503 with a failure word: got %v (kind %q), want a transient error without kind", err, messaging.KindOf(err))
	}
}

func TestSendTimeout(t *testing.T) {
	requestEnded := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hang like a stuck gateway until the client gives up. The body is
		// read first: only then does the server watch the connection and
		// end the request context when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		select {
		case requestEnded <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	s := newSender(t, webhook.Config{URL: srv.URL + "?token=gateway-token", Timeout: 50 * time.Millisecond})

	err := s.Send(context.Background(), codeMessage)
	if err == nil {
		t.Fatal("got nil error, want a timeout")
	}
	if messaging.IsPermanent(err) {
		t.Errorf("got permanent error %v, want transient", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got error %v, want it to wrap context.DeadlineExceeded", err)
	}
	if strings.Contains(err.Error(), "gateway-token") {
		t.Errorf("got error %q, want it without the URL's query", err)
	}
	<-requestEnded // the server saw the request abandoned
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	s := newSender(t, webhook.Config{URL: url})
	err := s.Send(context.Background(), codeMessage)
	if err == nil || messaging.IsPermanent(err) {
		t.Errorf("got error %v, want a transient one", err)
	}
}

// signed is an independent implementation of the documented signature, so
// Verify is checked against the spec rather than against Sign.
func signed(key, timestamp string, body []byte) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(timestamp + "." + string(body)))
	return "v1=" + hex.EncodeToString(h.Sum(nil))
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"1","to":"+14155550123","body":"Your code is 493817","purpose":"phone-verification"}`)
	ts := strconv.FormatInt(sentAt.Unix(), 10)
	good := signed(secret, ts, body)
	tests := []struct {
		name      string
		secret    string
		timestamp string
		signature string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "valid", signature: good},
		{name: "valid at the edge of tolerance", signature: good, now: sentAt.Add(time.Minute)},
		{name: "valid slightly in the future", signature: good, now: sentAt.Add(-time.Minute)},
		{name: "valid among several signatures", signature: "v0=abc, v1=00ff, " + good},
		{name: "zero tolerance means the default", signature: good, now: sentAt.Add(4 * time.Minute), tolerance: -1},
		{name: "stale", signature: good, now: sentAt.Add(time.Minute + time.Second), want: webhook.ErrStaleTimestamp},
		{name: "too far in the future", signature: good, now: sentAt.Add(-2 * time.Minute), want: webhook.ErrStaleTimestamp},
		{name: "stale beyond the default tolerance", signature: good, now: sentAt.Add(6 * time.Minute), tolerance: -1, want: webhook.ErrStaleTimestamp},
		{name: "tampered body", signature: good, body: []byte(strings.Replace(string(body), "493817", "000000", 1)), want: webhook.ErrInvalidSignature},
		{name: "tampered timestamp", signature: good, timestamp: strconv.FormatInt(sentAt.Unix()+1, 10), want: webhook.ErrInvalidSignature},
		{name: "wrong secret", secret: "another-secret-of-the-receiver", signature: good, want: webhook.ErrInvalidSignature},
		{name: "empty secret", secret: "-", signature: signed("", ts, body), want: webhook.ErrInvalidSignature},
		{name: "missing signature", signature: "", want: webhook.ErrInvalidSignature},
		{name: "signature without scheme", signature: strings.TrimPrefix(good, "v1="), want: webhook.ErrInvalidSignature},
		{name: "signature not hex", signature: "v1=zz", want: webhook.ErrInvalidSignature},
		{name: "missing timestamp", timestamp: "-", signature: good, want: webhook.ErrInvalidTimestamp},
		{name: "malformed timestamp", timestamp: "12:00", signature: good, want: webhook.ErrInvalidTimestamp},
		{name: "negative timestamp", timestamp: "-5", signature: signed(secret, "-5", body), want: webhook.ErrInvalidTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.secret
			switch key {
			case "":
				key = secret
			case "-":
				key = ""
			}
			timestamp := tt.timestamp
			switch timestamp {
			case "":
				timestamp = ts
			case "-":
				timestamp = ""
			}
			b := tt.body
			if b == nil {
				b = body
			}
			now := tt.now
			if now.IsZero() {
				now = sentAt
			}
			tolerance := tt.tolerance
			if tolerance == 0 {
				tolerance = time.Minute
			}
			err := webhook.Verify(key, timestamp, tt.signature, b, now, tolerance)
			if tt.want == nil && err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignMatchesSpec(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	if got, want := webhook.Sign(secret, "1700000000", body), signed(secret, "1700000000", body); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	valid := webhook.Config{URL: "https://gateway.example.com/sms", Secret: secret}
	tests := []struct {
		name    string
		edit    func(c *webhook.Config)
		wantErr string
	}{
		{name: "valid", edit: func(*webhook.Config) {}},
		{name: "valid http with port and query", edit: func(c *webhook.Config) { c.URL = "http://127.0.0.1:9000/hook?token=x" }},
		{name: "valid 16 character secret", edit: func(c *webhook.Config) { c.Secret = strings.Repeat("s", 16) }},
		{name: "missing url", edit: func(c *webhook.Config) { c.URL = "" }, wantErr: "SIMPLEMODULE_SMS_WEBHOOK_URL is required"},
		{name: "relative url", edit: func(c *webhook.Config) { c.URL = "/sms" }, wantErr: "SIMPLEMODULE_SMS_WEBHOOK_URL must be an absolute http or https URL"},
		{name: "url without scheme", edit: func(c *webhook.Config) { c.URL = "gateway.example.com/sms" }, wantErr: "SIMPLEMODULE_SMS_WEBHOOK_URL must be an absolute http or https URL"},
		{name: "ftp url", edit: func(c *webhook.Config) { c.URL = "ftp://gateway.example.com" }, wantErr: "SIMPLEMODULE_SMS_WEBHOOK_URL must be an absolute http or https URL"},
		{name: "unparsable url", edit: func(c *webhook.Config) { c.URL = "https://exa mple.com/%zz" }, wantErr: "SIMPLEMODULE_SMS_WEBHOOK_URL must be an absolute http or https URL"},
		{name: "missing secret", edit: func(c *webhook.Config) { c.Secret = "" }, wantErr: "SIMPLEMODULE_SMS_WEBHOOK_SECRET is required"},
		{name: "short secret", edit: func(c *webhook.Config) { c.Secret = strings.Repeat("s", 15) }, wantErr: "SIMPLEMODULE_SMS_WEBHOOK_SECRET must be at least 16 characters"},
		{name: "negative timeout", edit: func(c *webhook.Config) { c.Timeout = -time.Second }, wantErr: "sms webhook timeout must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				if _, err := webhook.New(c); err != nil {
					t.Fatalf("New: got error %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if _, err := webhook.New(c); err == nil {
				t.Fatal("New: got nil error, want the validation error")
			}
		})
	}
}
