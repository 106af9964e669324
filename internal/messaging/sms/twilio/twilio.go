// Package twilio is an sms.Sender that delivers through the Twilio Messages
// API (POST /2010-04-01/Accounts/{AccountSid}/Messages.json), using only the
// standard library.
//
// Failures are classified for the outbox worker: a 4xx answer other than 408
// and 429 is permanent (messaging.PermanentFailure, with a provider-neutral
// kind and Twilio's error code such as "21211"); 408, 429, 5xx, timeouts and
// network errors are transient. Twilio's codes stay in this package: callers
// read the kind (messaging.KindOf).
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
)

// DefaultBaseURL is the Twilio REST API used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.twilio.com"

// defaultTimeout bounds one request when Config.Timeout is zero, so a
// provider outage cannot hold a delivery worker for long.
const defaultTimeout = 15 * time.Second

// maxResponseBytes caps how much of an answer is read; Twilio's answers are
// a few kilobytes.
const maxResponseBytes = 1 << 20

// Twilio error codes that Send classifies (see kindOf). They are kept for
// this package's tests and for operators reading the outbox's error code;
// callers outside messaging use the provider-neutral kind instead.
const (
	// CodeInvalidTo means the 'To' number is not a valid phone number.
	CodeInvalidTo = "21211"
	// CodeRegionNotEnabled means the account may not send to the number's
	// country (Geo Permissions).
	CodeRegionNotEnabled = "21408"
	// CodeUnsubscribed means the recipient replied STOP to this sender.
	CodeUnsubscribed = "21610"
	// CodeNotMobile means the 'To' number is not a mobile number.
	CodeNotMobile = "21614"
	// CodeUnreachable means the 'To' number cannot be reached by SMS at all.
	CodeUnreachable = "21612"
	// CodeAuthenticate means the credentials were refused.
	CodeAuthenticate = "20003"
	// CodeInvalidFrom means the 'From' number is not valid.
	CodeInvalidFrom = "21212"
	// CodeFromNotCapable means the 'From' number is not an SMS-capable
	// number of this account.
	CodeFromNotCapable = "21606"
	// CodeTrialUnverified means a trial account tried to send to a number
	// it has not verified.
	CodeTrialUnverified = "21608"
)

// kindOf maps a refused request to a provider-neutral kind: the recipient's
// codes to what the user can fix, the account's codes (and any 401 or 403)
// to FailureRejected, which only an operator can fix.
func kindOf(status int, code string) messaging.FailureKind {
	switch code {
	case CodeInvalidTo:
		return messaging.FailureInvalidRecipient
	case CodeNotMobile, CodeRegionNotEnabled, CodeUnreachable:
		return messaging.FailureUnreachable
	case CodeUnsubscribed:
		return messaging.FailureBlocked
	case CodeAuthenticate, CodeInvalidFrom, CodeFromNotCapable, CodeTrialUnverified:
		return messaging.FailureRejected
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		return messaging.FailureRejected
	}
	return messaging.FailureOther
}

// Config is the Twilio account and sender identity. The fields map to the
// SIMPLEMODULE_TWILIO_* settings.
type Config struct {
	// AccountSID is the account ("AC…") messages are sent from
	// (SIMPLEMODULE_TWILIO_ACCOUNT_SID). Always required: it is part of the
	// API path.
	AccountSID string
	// AuthToken is the account's auth token
	// (SIMPLEMODULE_TWILIO_AUTH_TOKEN); required unless an API key is set.
	AuthToken string
	// APIKeySID is an API key ("SK…") used instead of the auth token
	// (SIMPLEMODULE_TWILIO_API_KEY_SID).
	APIKeySID string
	// APIKeySecret goes with APIKeySID (SIMPLEMODULE_TWILIO_API_KEY_SECRET).
	APIKeySecret string
	// From is the sending number or alphanumeric sender ID
	// (SIMPLEMODULE_TWILIO_FROM). Set exactly one of From and
	// MessagingServiceSID.
	From string
	// MessagingServiceSID is a Messaging Service ("MG…") that picks the
	// sender (SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID).
	MessagingServiceSID string
	// BaseURL is the API root (SIMPLEMODULE_TWILIO_BASE_URL); empty means
	// DefaultBaseURL. Tests point it at an httptest server.
	BaseURL string
	// Timeout bounds one request; zero means 15s.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a new client with no
	// timeout of its own (Timeout applies through the request context).
	HTTPClient *http.Client
}

// Validate reports the first invalid setting, naming its environment variable.
func (c Config) Validate() error {
	if c.AccountSID == "" {
		return errors.New("SIMPLEMODULE_TWILIO_ACCOUNT_SID is required")
	}
	if !isSID(c.AccountSID, "AC") {
		return errors.New("SIMPLEMODULE_TWILIO_ACCOUNT_SID must start with AC followed by letters and digits")
	}
	switch {
	case c.APIKeySID != "" && c.APIKeySecret == "":
		return errors.New("SIMPLEMODULE_TWILIO_API_KEY_SECRET is required when SIMPLEMODULE_TWILIO_API_KEY_SID is set")
	case c.APIKeySID == "" && c.APIKeySecret != "":
		return errors.New("SIMPLEMODULE_TWILIO_API_KEY_SID is required when SIMPLEMODULE_TWILIO_API_KEY_SECRET is set")
	case c.APIKeySID != "" && !isSID(c.APIKeySID, "SK"):
		return errors.New("SIMPLEMODULE_TWILIO_API_KEY_SID must start with SK followed by letters and digits")
	case c.APIKeySID == "" && c.AuthToken == "":
		return errors.New("SIMPLEMODULE_TWILIO_AUTH_TOKEN is required (or set SIMPLEMODULE_TWILIO_API_KEY_SID and SIMPLEMODULE_TWILIO_API_KEY_SECRET)")
	}
	switch {
	case c.From == "" && c.MessagingServiceSID == "":
		return errors.New("set SIMPLEMODULE_TWILIO_FROM or SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID")
	case c.From != "" && c.MessagingServiceSID != "":
		// Twilio accepts both, but which one wins depends on the service's
		// sender pool; one setting keeps the sender predictable.
		return errors.New("set only one of SIMPLEMODULE_TWILIO_FROM and SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID")
	case c.MessagingServiceSID != "" && !isSID(c.MessagingServiceSID, "MG"):
		return errors.New("SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID must start with MG followed by letters and digits")
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("SIMPLEMODULE_TWILIO_BASE_URL must be an absolute http or https URL without credentials or query")
		}
	}
	if c.Timeout < 0 {
		return errors.New("twilio timeout must not be negative")
	}
	return nil
}

// isSID reports whether s is prefix followed by at least one ASCII letter or
// digit. The account SID goes into the request path, so nothing else is let
// through.
func isSID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || rest == "" {
		return false
	}
	for _, r := range rest {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// Sender delivers sms.Message values through the Twilio Messages API. It is
// safe for concurrent use.
type Sender struct {
	endpoint            string
	username, password  string
	from                string
	messagingServiceSID string
	timeout             time.Duration
	client              *http.Client
}

var _ sms.Sender = (*Sender)(nil)

// New validates c and returns a Sender for it.
func New(c Config) (*Sender, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	s := &Sender{
		endpoint:            base + "/2010-04-01/Accounts/" + c.AccountSID + "/Messages.json",
		username:            c.AccountSID,
		password:            c.AuthToken,
		from:                c.From,
		messagingServiceSID: c.MessagingServiceSID,
		timeout:             c.Timeout,
		client:              c.HTTPClient,
	}
	if c.APIKeySID != "" {
		s.username, s.password = c.APIKeySID, c.APIKeySecret
	}
	if s.timeout == 0 {
		s.timeout = defaultTimeout
	}
	if s.client == nil {
		s.client = &http.Client{Transport: messaging.ProviderTransport()}
	}
	return s, nil
}

// Send delivers m. See SendWithID.
func (s *Sender) Send(ctx context.Context, m sms.Message) error {
	_, err := s.SendWithID(ctx, m)
	return err
}

// SendWithID delivers m and returns the message SID Twilio assigned
// ("SM…"). The SID is empty when Twilio accepted the message but its answer
// could not be read; that is still a success, since retrying would send the
// message twice.
//
// Errors never hold the credentials or m.Body, which may carry a code.
func (s *Sender) SendWithID(ctx context.Context, m sms.Message) (sid string, err error) {
	if m.To == "" {
		return "", messaging.PermanentFailure(messaging.FailureInvalidRecipient, "", errors.New("twilio: message has no recipient"))
	}
	if m.Body == "" {
		return "", messaging.Permanent("", errors.New("twilio: message has no body"))
	}
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if s.messagingServiceSID != "" {
		form.Set("MessagingServiceSid", s.messagingServiceSID)
	} else {
		form.Set("From", s.from)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("twilio: build request: %w", err)
	}
	req.SetBasicAuth(s.username, s.password)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := s.client.Do(req)
	if err != nil {
		// Timeouts, refused connections, resets: worth another try. The
		// *url.Error names the endpoint, which holds only the account SID.
		return "", fmt.Errorf("twilio: send: %w", err)
	}
	defer resp.Body.Close()
	payload, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var ok struct {
			SID string `json:"sid"`
		}
		if readErr == nil {
			_ = json.Unmarshal(payload, &ok) // accepted either way; see doc
		}
		return ok.SID, nil
	}

	var apiErr struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	if readErr != nil || json.Unmarshal(payload, &apiErr) != nil || apiErr.Message == "" {
		apiErr.Message = http.StatusText(resp.StatusCode)
	}
	detail := s.redact(apiErr.Message, m.Body)
	if apiErr.MoreInfo != "" {
		detail += " (" + s.redact(apiErr.MoreInfo, m.Body) + ")"
	}
	code := ""
	if apiErr.Code != 0 {
		code = strconv.Itoa(apiErr.Code)
	}

	if permanentStatus(resp.StatusCode) {
		return "", messaging.PermanentFailure(kindOf(resp.StatusCode, code), code, fmt.Errorf("twilio: status %d: %s", resp.StatusCode, detail))
	}
	if code != "" {
		return "", fmt.Errorf("twilio: status %d (code %s): %s", resp.StatusCode, code, detail)
	}
	return "", fmt.Errorf("twilio: status %d: %s", resp.StatusCode, detail)
}

// permanentStatus reports whether an answer with this status means retrying
// cannot help: any 4xx except 408 (request timeout) and 429 (rate limited).
func permanentStatus(status int) bool {
	return status >= 400 && status < 500 &&
		status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// maxDetailLen keeps a provider message from flooding the outbox's error
// column and the logs.
const maxDetailLen = 300

// redact removes the secret and the message body from text taken from
// Twilio's answer before it goes into an error, and shortens it.
func (s *Sender) redact(text, body string) string {
	for _, secret := range []string{s.password, body} {
		if secret != "" {
			text = strings.ReplaceAll(text, secret, "[redacted]")
		}
	}
	if len(text) > maxDetailLen {
		text = strings.ToValidUTF8(text[:maxDetailLen], "") + "…"
	}
	return text
}
