package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The webhook SMS provider's wire format (README, SIMPLEMODULE_SMS_WEBHOOK_*),
// written out here rather than imported from internal/messaging/sms/webhook so
// the receiver checks what the server sends against the documented format,
// not against the sender's own code.
const (
	headerTimestamp      = "X-SimpleModule-Timestamp"
	headerSignature      = "X-SimpleModule-Signature"
	headerIdempotencyKey = "Idempotency-Key"
	signaturePrefix      = "v1="
	// signatureTolerance is how far the timestamp may be from our clock.
	signatureTolerance = 5 * time.Minute
	// maxPayload bounds a request body; an SMS payload is far smaller.
	maxPayload = 64 << 10
)

// Reasons verifySignature refuses a request. Their texts are error kinds in
// the report.
var (
	errBadTimestamp   = errors.New("provider: missing or malformed timestamp")
	errStaleTimestamp = errors.New("provider: stale timestamp")
	errBadSignature   = errors.New("provider: bad signature")
)

// verifySignature checks the webhook headers: timestamp is unix seconds no
// further than tolerance from now, and signature holds, among
// comma-separated entries, "v1=" + hex(HMAC-SHA256(secret, timestamp + "." +
// body)). The comparison takes constant time.
func verifySignature(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || seconds <= 0 {
		return errBadTimestamp
	}
	if age := now.Sub(time.Unix(seconds, 0)); age > tolerance || age < -tolerance {
		return errStaleTimestamp
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := mac.Sum(nil)
	for entry := range strings.SplitSeq(signature, ",") {
		encoded, ok := strings.CutPrefix(strings.TrimSpace(entry), signaturePrefix)
		if !ok {
			continue
		}
		if got, err := hex.DecodeString(encoded); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errBadSignature
}

// smsPayload is the JSON body the server POSTs.
type smsPayload struct {
	ID      string `json:"id"`
	To      string `json:"to"`
	Body    string `json:"body"`
	Purpose string `json:"purpose"`
}

// autofillCode matches the last line of a verification text, "@host #123456"
// (the origin-bound one-time-code format); plainCode is the fallback.
var (
	autofillCode = regexp.MustCompile(`#(\d{4,10})\s*$`)
	plainCode    = regexp.MustCompile(`\b(\d{6})\b`)
)

// extractCode finds the verification code in an SMS body.
func extractCode(body string) (string, bool) {
	if m := autofillCode.FindStringSubmatch(body); m != nil {
		return m[1], true
	}
	if m := plainCode.FindStringSubmatch(body); m != nil {
		return m[1], true
	}
	return "", false
}

// delivery is a code as it reached the receiver.
type delivery struct {
	ID   string
	Code string
	At   time.Time // when the request carrying it arrived
}

// receiverCounts are the receiver's counters, read at the end of a run.
type receiverCounts struct {
	// Duplicates counts requests for a message id that had already been
	// accepted: the same SMS would reach the phone twice.
	Duplicates int
	// Hangs counts attempts held open until the server gave up.
	Hangs int
	// Retries counts messages accepted on a later attempt after earlier
	// ones were not (hung or cut off).
	Retries int
	// Unmatched counts accepted codes no virtual user was waiting for
	// (late, or a second code for one wait).
	Unmatched int
}

// receiver plays the SMS provider behind the server's webhook sender. It
// verifies every request, hands each code to the virtual user waiting for
// its recipient, answers after a configured latency, holds the first
// attempt of messages to "hanging" recipients open until the server cuts
// it off, and counts duplicate deliveries by message id (the id is stable
// across the outbox's retries).
type receiver struct {
	secret  string
	latency time.Duration
	fail    func(kind string) // counts an error in the report
	now     func() time.Time
	stop    chan struct{} // closed by close: releases hanging requests

	mu       sync.Mutex
	hanging  map[string]bool // recipients (E.164)
	waiting  map[string]chan delivery
	attempts map[string]int  // by message id
	accepted map[string]bool // by message id
	counts   receiverCounts
	server   *http.Server
}

// newReceiver returns a receiver checking signatures with secret and
// answering after latency; fail is called once per refused request.
func newReceiver(secret string, latency time.Duration, fail func(kind string)) *receiver {
	return &receiver{
		secret:   secret,
		latency:  latency,
		fail:     fail,
		now:      time.Now,
		stop:     make(chan struct{}),
		hanging:  make(map[string]bool),
		waiting:  make(map[string]chan delivery),
		attempts: make(map[string]int),
		accepted: make(map[string]bool),
	}
}

// listen starts serving on addr (like 127.0.0.1:0) and returns the URL the
// server should POST to.
func (rc *receiver) listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	rc.server = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go rc.server.Serve(ln)
	return "http://" + ln.Addr().String() + "/sms", nil
}

// close releases hanging requests and stops serving.
func (rc *receiver) close() {
	close(rc.stop)
	if rc.server != nil {
		rc.server.Close()
	}
}

// hang makes the first attempt of every message to number hang.
func (rc *receiver) hang(number string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.hanging[number] = true
}

// expect registers interest in the next code for number; call done when no
// longer waiting. One waiter per number: a user sends to one number at a time.
func (rc *receiver) expect(number string) (codes <-chan delivery, done func()) {
	ch := make(chan delivery, 1)
	rc.mu.Lock()
	rc.waiting[number] = ch
	rc.mu.Unlock()
	return ch, func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.waiting[number] == ch {
			delete(rc.waiting, number)
		}
	}
}

// snapshot returns the counters so far.
func (rc *receiver) snapshot() receiverCounts {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.counts
}

// ServeHTTP handles one delivery attempt from the server's webhook sender.
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := rc.now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		rc.fail("provider: method " + r.Method)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil || len(body) > maxPayload {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		rc.fail("provider: unreadable body")
		return
	}
	if err := verifySignature(rc.secret, r.Header.Get(headerTimestamp), r.Header.Get(headerSignature), body, arrived, signatureTolerance); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		rc.fail(err.Error())
		return
	}
	var p smsPayload
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" || p.To == "" {
		http.Error(w, "bad payload", http.StatusBadRequest)
		rc.fail("provider: bad payload")
		return
	}
	if r.Header.Get(headerIdempotencyKey) != p.ID {
		rc.fail("provider: Idempotency-Key differs from id")
	}
	code, ok := extractCode(p.Body)
	if !ok {
		rc.fail("provider: no code in body")
	}

	rc.mu.Lock()
	rc.attempts[p.ID]++
	attempt := rc.attempts[p.ID]
	switch {
	case rc.hanging[p.To] && attempt == 1:
		rc.counts.Hangs++
		rc.mu.Unlock()
		select { // until the server gives up (its timeout closes the connection)
		case <-r.Context().Done():
		case <-rc.stop:
		}
		return
	case rc.accepted[p.ID]:
		rc.counts.Duplicates++
	default:
		rc.accepted[p.ID] = true
		if attempt > 1 {
			rc.counts.Retries++
		}
		d := delivery{ID: p.ID, Code: code, At: arrived}
		select {
		case rc.waiting[p.To] <- d: // a nil channel (nobody waiting) is never ready
		default:
			rc.counts.Unmatched++
		}
	}
	rc.mu.Unlock()

	if rc.latency > 0 {
		t := time.NewTimer(rc.latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-rc.stop:
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"accepted"}`)
}
