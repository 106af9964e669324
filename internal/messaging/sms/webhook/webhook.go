// Package webhook is an sms.Sender that POSTs each message as signed JSON to
// a URL, so any SMS gateway can be bridged with a small receiver.
//
// The request body is a Payload: {"id","to","body","purpose"}. The headers are
//
//	Content-Type: application/json
//	Idempotency-Key: <id>
//	X-SimpleModule-Timestamp: <unix seconds>
//	X-SimpleModule-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// A receiver checks them with Verify, which also refuses stale timestamps so
// a captured request cannot be replayed later, and should treat a repeated id
// as already handled: a message is retried after a timeout even if the first
// attempt got through.
//
// A 2xx answer is success; any other 4xx except 408 and 429 is a permanent
// failure; everything else (408, 429, 3xx, 5xx, timeouts, network errors) is
// transient and will be retried.
//
// A receiver that refuses a message because of its recipient says why in a
// JSON answer, {"failure": "invalid_recipient" | "unreachable" | "blocked"}
// (see the Failure constants), so the user is told to check the number
// rather than to try again. Without it a 401, 403 or 404 means this sender
// is refused or misconfigured (messaging.FailureRejected) and any other
// permanent answer is messaging.FailureOther.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
)

// Header names set on every request.
const (
	// HeaderTimestamp holds the signing time in unix seconds.
	HeaderTimestamp = "X-SimpleModule-Timestamp"
	// HeaderSignature holds "v1=" and the hex HMAC-SHA256 signature.
	HeaderSignature = "X-SimpleModule-Signature"
	// HeaderIdempotencyKey repeats the payload's id so a receiver or a proxy
	// can drop duplicates without parsing the body.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Values of the "failure" field a receiver may put in a 4xx JSON answer.
// They are this protocol's words, mapped to messaging's kinds in one place
// (failureKinds), so the wire format does not change when the kinds do.
const (
	// FailureInvalidRecipient: the number is not a valid phone number.
	FailureInvalidRecipient = "invalid_recipient"
	// FailureUnreachable: the number cannot receive SMS (a landline, a
	// country the gateway does not serve).
	FailureUnreachable = "unreachable"
	// FailureBlocked: the recipient opted out or blocks the sender.
	FailureBlocked = "blocked"
	// FailureRejected: the gateway refuses this sender (account, sender id).
	FailureRejected = "rejected"
)

var failureKinds = map[string]messaging.FailureKind{
	FailureInvalidRecipient: messaging.FailureInvalidRecipient,
	FailureUnreachable:      messaging.FailureUnreachable,
	FailureBlocked:          messaging.FailureBlocked,
	FailureRejected:         messaging.FailureRejected,
}

// FailureAnswer is the JSON body a receiver may send with a 4xx answer.
type FailureAnswer struct {
	// Failure is one of the Failure constants; anything else is ignored.
	Failure string `json:"failure"`
}

// DefaultTolerance is how far a timestamp may be from the receiver's clock
// when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// MinSecretLength is the shortest secret Config.Validate accepts, in
// characters.
const MinSecretLength = 16

// signatureScheme prefixes the signature so the algorithm can change later
// without breaking receivers that check the prefix.
const signatureScheme = "v1="

// defaultTimeout bounds one request when Config.Timeout is zero, so a
// gateway outage cannot hold a delivery worker for long.
const defaultTimeout = 15 * time.Second

// maxIDLength bounds a caller-given id; it travels in a header.
const maxIDLength = 200

// Errors returned by Verify; test with errors.Is.
var (
	// ErrInvalidTimestamp means the timestamp header is missing or not a
	// positive integer.
	ErrInvalidTimestamp = errors.New("webhook: missing or malformed timestamp")
	// ErrStaleTimestamp means the timestamp is further from now than the
	// tolerance, in either direction.
	ErrStaleTimestamp = errors.New("webhook: timestamp outside tolerance")
	// ErrInvalidSignature means no v1 signature in the header matches the
	// body, the timestamp and the secret.
	ErrInvalidSignature = errors.New("webhook: signature does not match")
)

// Payload is the JSON body of each request.
type Payload struct {
	// ID identifies the message across retries; receivers use it to drop
	// duplicates.
	ID string `json:"id"`
	// To is the recipient in E.164 format.
	To string `json:"to"`
	// Body is the full text of the message.
	Body string `json:"body"`
	// Purpose says why the message is sent, e.g. "phone-verification".
	Purpose string `json:"purpose"`
}

// Config is the receiver's address and the shared secret. The fields map to
// the SIMPLEMODULE_SMS_WEBHOOK_* settings.
type Config struct {
	// URL receives the POSTs (SIMPLEMODULE_SMS_WEBHOOK_URL); an absolute
	// http or https URL.
	URL string
	// Secret signs each request (SIMPLEMODULE_SMS_WEBHOOK_SECRET); at least
	// MinSecretLength characters.
	Secret string
	// Timeout bounds one request; zero means 15s.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a new client that does not
	// follow redirects (a redirect is then a transient failure, so a moved
	// receiver shows up in the outbox instead of being followed silently).
	HTTPClient *http.Client
	// Now gives the signing time; nil means time.Now.
	Now func() time.Time
}

// Validate reports the first invalid setting, naming its environment variable.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("SIMPLEMODULE_SMS_WEBHOOK_URL is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("SIMPLEMODULE_SMS_WEBHOOK_URL must be an absolute http or https URL")
	}
	if c.Secret == "" {
		return errors.New("SIMPLEMODULE_SMS_WEBHOOK_SECRET is required")
	}
	if utf8.RuneCountInString(c.Secret) < MinSecretLength {
		return fmt.Errorf("SIMPLEMODULE_SMS_WEBHOOK_SECRET must be at least %d characters", MinSecretLength)
	}
	if c.Timeout < 0 {
		return errors.New("sms webhook timeout must not be negative")
	}
	return nil
}

// Sender POSTs sms.Message values to one webhook URL. It is safe for
// concurrent use.
type Sender struct {
	url     string
	safeURL string // scheme, host and path only: for errors
	secret  []byte
	timeout time.Duration
	client  *http.Client
	now     func() time.Time
}

var _ sms.Sender = (*Sender)(nil)

// New validates c and returns a Sender for it.
func New(c Config) (*Sender, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(c.URL) // checked by Validate
	s := &Sender{
		url:     c.URL,
		safeURL: (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(),
		secret:  []byte(c.Secret),
		timeout: c.Timeout,
		client:  c.HTTPClient,
		now:     c.Now,
	}
	if s.timeout == 0 {
		s.timeout = defaultTimeout
	}
	if s.client == nil {
		s.client = &http.Client{
			Transport:     messaging.ProviderTransport(),
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Send delivers m under a new random id. Callers that retry, like the
// outbox worker, should use SendWithID with a stable id instead, so the
// receiver can recognise a repeat.
func (s *Sender) Send(ctx context.Context, m sms.Message) error {
	if id := messaging.MessageID(ctx); id != "" {
		return s.SendWithID(ctx, id, m)
	}
	return s.SendWithID(ctx, rand.Text(), m)
}

// SendWithID delivers m with id as the payload's id and the Idempotency-Key
// header. An empty id is replaced by a random one; an id longer than 200
// bytes or holding anything but printable ASCII without spaces is refused as
// a permanent failure.
//
// Errors never hold the secret, m.Body, or the URL's query and credentials.
func (s *Sender) SendWithID(ctx context.Context, id string, m sms.Message) error {
	if id == "" {
		id = rand.Text()
	}
	if !validID(id) {
		return messaging.Permanent("", errors.New("sms webhook: id must be 1-200 printable ASCII characters without spaces"))
	}
	if m.To == "" {
		return messaging.PermanentFailure(messaging.FailureInvalidRecipient, "", errors.New("sms webhook: message has no recipient"))
	}
	if m.Body == "" {
		return messaging.Permanent("", errors.New("sms webhook: message has no body"))
	}
	body, err := json.Marshal(Payload{ID: id, To: m.To, Body: m.Body, Purpose: m.Purpose})
	if err != nil {
		return messaging.Permanent("", fmt.Errorf("sms webhook: encode payload: %w", err))
	}
	timestamp := strconv.FormatInt(s.now().Unix(), 10)

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms webhook: build request for %s: %w", s.safeURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, id)
	req.Header.Set(HeaderTimestamp, timestamp)
	req.Header.Set(HeaderSignature, sign(s.secret, timestamp, body))

	resp, err := s.client.Do(req)
	if err != nil {
		// A *url.Error would print the whole URL, query included, which may
		// hold a gateway token; name the safe part and keep the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("sms webhook: post to %s: %w", s.safeURL, err)
	}
	// Read a little, so the connection can be reused and a refusal can say
	// why; the answer is never echoed into errors since it may repeat the
	// body.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()

	switch status := resp.StatusCode; {
	case status >= 200 && status < 300:
		return nil
	case status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests:
		kind := refusalKind(status, answer)
		return messaging.PermanentFailure(kind, "", fmt.Errorf("sms webhook: %s answered %d %s", s.safeURL, status, http.StatusText(status)))
	default:
		return fmt.Errorf("sms webhook: %s answered %d %s", s.safeURL, status, http.StatusText(status))
	}
}

// refusalKind classifies a permanent answer: the receiver's own word when it
// gives a known one, else what the status says about this sender.
func refusalKind(status int, answer []byte) messaging.FailureKind {
	var a FailureAnswer
	if json.Unmarshal(answer, &a) == nil {
		if kind, ok := failureKinds[a.Failure]; ok {
			return kind
		}
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		// A refused signature or a wrong URL: only an operator can fix it.
		return messaging.FailureRejected
	}
	return messaging.FailureOther
}

// validID reports whether id can travel in a header unchanged.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// Sign returns the X-SimpleModule-Signature value for body sent at
// timestamp (unix seconds, as in the X-SimpleModule-Timestamp header):
// "v1=" followed by the hex HMAC-SHA256 of timestamp + "." + body.
func Sign(secret, timestamp string, body []byte) string {
	return sign([]byte(secret), timestamp, body)
}

func sign(secret []byte, timestamp string, body []byte) string {
	return signatureScheme + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a request made by a Sender: timestamp and signature are the
// X-SimpleModule-Timestamp and X-SimpleModule-Signature headers, body the raw
// request body. It refuses a timestamp more than tolerance away from now (a
// tolerance of zero or less means DefaultTolerance), then accepts the request
// if any comma-separated "v1=" entry in signature matches. The comparison
// takes constant time.
//
// The errors wrap ErrInvalidTimestamp, ErrStaleTimestamp or
// ErrInvalidSignature.
func Verify(secret string, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return fmt.Errorf("%w: empty secret", ErrInvalidSignature)
	}
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || seconds <= 0 {
		return ErrInvalidTimestamp
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if age := now.Sub(time.Unix(seconds, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: %s away from now, tolerance %s", ErrStaleTimestamp, age.Round(time.Second), tolerance)
	}
	want := mac([]byte(secret), timestamp, body)
	for entry := range strings.SplitSeq(signature, ",") {
		encoded, ok := strings.CutPrefix(strings.TrimSpace(entry), signatureScheme)
		if !ok {
			continue // another scheme: ignored so new ones can be added
		}
		got, err := hex.DecodeString(encoded)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrInvalidSignature
}
