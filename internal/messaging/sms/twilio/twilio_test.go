package twilio_test

import (
	"context"
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
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms/twilio"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "auth-token-very-secret"
	apiKeySID  = "SK0123456789abcdef0123456789abcdef"
	apiSecret  = "api-key-secret-very-secret"
	serviceSID = "MG0123456789abcdef0123456789abcdef"
	fromNumber = "+15005550006"
)

// codeMessage is what the tests send: its body holds a code that must never
// show up in an error.
var codeMessage = sms.Message{To: "+14155550123", Body: "Your code is 493817", Purpose: "phone-verification"}

// request is what the fake Twilio saw.
type request struct {
	method, path, contentType string
	user, pass                string
	hasAuth                   bool
	form                      map[string]string
}

// fakeTwilio records each request and answers with status and body.
type fakeTwilio struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
}

func newFakeTwilio(t *testing.T, status int, body string) *fakeTwilio {
	t.Helper()
	f := &fakeTwilio{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		got := request{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), form: map[string]string{}}
		got.user, got.pass, got.hasAuth = r.BasicAuth()
		for k := range r.PostForm {
			got.form[k] = r.PostForm.Get(k)
		}
		f.mu.Lock()
		f.requests = append(f.requests, got)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) only(t *testing.T) request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 1 {
		t.Fatalf("got %d requests, want 1", len(f.requests))
	}
	return f.requests[0]
}

func newSender(t *testing.T, c twilio.Config) *twilio.Sender {
	t.Helper()
	s, err := twilio.New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func twilioError(code int, message string, status int) string {
	b, _ := json.Marshal(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
	})
	return string(b)
}

func TestSendSuccess(t *testing.T) {
	tests := []struct {
		name     string
		config   twilio.Config
		wantUser string
		wantPass string
		wantForm map[string]string
	}{
		{
			name:     "auth token and from",
			config:   twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber},
			wantUser: accountSID, wantPass: authToken,
			wantForm: map[string]string{"To": codeMessage.To, "Body": codeMessage.Body, "From": fromNumber},
		},
		{
			name:     "api key wins over auth token",
			config:   twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIKeySID: apiKeySID, APIKeySecret: apiSecret, From: fromNumber},
			wantUser: apiKeySID, wantPass: apiSecret,
			wantForm: map[string]string{"To": codeMessage.To, "Body": codeMessage.Body, "From": fromNumber},
		},
		{
			name:     "messaging service",
			config:   twilio.Config{AccountSID: accountSID, AuthToken: authToken, MessagingServiceSID: serviceSID},
			wantUser: accountSID, wantPass: authToken,
			wantForm: map[string]string{"To": codeMessage.To, "Body": codeMessage.Body, "MessagingServiceSid": serviceSID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeTwilio(t, http.StatusCreated, `{"sid":"SM123","status":"queued"}`)
			tt.config.BaseURL = fake.URL + "/" // a trailing slash must not double up
			s := newSender(t, tt.config)

			sid, err := s.SendWithID(context.Background(), codeMessage)
			if err != nil {
				t.Fatalf("SendWithID: got error %v, want nil", err)
			}
			if sid != "SM123" {
				t.Errorf("got sid %q, want %q", sid, "SM123")
			}

			got := fake.only(t)
			if got.method != http.MethodPost {
				t.Errorf("got method %s, want POST", got.method)
			}
			if want := "/2010-04-01/Accounts/" + accountSID + "/Messages.json"; got.path != want {
				t.Errorf("got path %q, want %q", got.path, want)
			}
			if got.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("got content type %q, want application/x-www-form-urlencoded", got.contentType)
			}
			if !got.hasAuth || got.user != tt.wantUser || got.pass != tt.wantPass {
				t.Errorf("got basic auth %q:%q (present %v), want %q:%q", got.user, got.pass, got.hasAuth, tt.wantUser, tt.wantPass)
			}
			if len(got.form) != len(tt.wantForm) {
				t.Errorf("got form %v, want %v", got.form, tt.wantForm)
			}
			for k, want := range tt.wantForm {
				if got.form[k] != want {
					t.Errorf("got form %s=%q, want %q", k, got.form[k], want)
				}
			}
		})
	}
}

func TestSendImplementsSender(t *testing.T) {
	fake := newFakeTwilio(t, http.StatusCreated, `{"sid":"SM1"}`)
	var s sms.Sender = newSender(t, twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, BaseURL: fake.URL})
	if err := s.Send(context.Background(), codeMessage); err != nil {
		t.Fatalf("Send: got error %v, want nil", err)
	}
	fake.only(t)
}

func TestSendAcceptedWithUnreadableAnswer(t *testing.T) {
	// Twilio took the message; retrying would send it twice.
	fake := newFakeTwilio(t, http.StatusCreated, `not json`)
	s := newSender(t, twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, BaseURL: fake.URL})
	sid, err := s.SendWithID(context.Background(), codeMessage)
	if err != nil || sid != "" {
		t.Fatalf("got (%q, %v), want (\"\", nil)", sid, err)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		body          string
		wantPermanent bool
		wantCode      string
		wantKind      messaging.FailureKind // "" for transient errors
		wantInError   string
	}{
		{name: "invalid to", status: 400, body: twilioError(21211, "The 'To' number +14155550123 is not a valid phone number.", 400), wantPermanent: true, wantCode: twilio.CodeInvalidTo, wantKind: messaging.FailureInvalidRecipient, wantInError: "is not a valid phone number"},
		{name: "not a mobile number", status: 400, body: twilioError(21614, "'To' number is not a valid mobile number", 400), wantPermanent: true, wantCode: twilio.CodeNotMobile, wantKind: messaging.FailureUnreachable},
		{name: "unsubscribed", status: 400, body: twilioError(21610, "Attempt to send to unsubscribed recipient", 400), wantPermanent: true, wantCode: twilio.CodeUnsubscribed, wantKind: messaging.FailureBlocked},
		{name: "region not enabled", status: 400, body: twilioError(21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number", 400), wantPermanent: true, wantCode: twilio.CodeRegionNotEnabled, wantKind: messaging.FailureUnreachable},
		{name: "not reachable by sms", status: 400, body: twilioError(21612, "The 'To' phone number is not currently reachable via SMS", 400), wantPermanent: true, wantCode: twilio.CodeUnreachable, wantKind: messaging.FailureUnreachable},
		{name: "bad credentials", status: 401, body: twilioError(20003, "Authenticate", 401), wantPermanent: true, wantCode: "20003", wantKind: messaging.FailureRejected},
		{name: "forbidden without code", status: 403, body: "<html>forbidden</html>", wantPermanent: true, wantCode: "", wantKind: messaging.FailureRejected},
		{name: "invalid from", status: 400, body: twilioError(21212, "The 'From' number is not a valid phone number", 400), wantPermanent: true, wantCode: twilio.CodeInvalidFrom, wantKind: messaging.FailureRejected},
		{name: "from not sms capable", status: 400, body: twilioError(21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination", 400), wantPermanent: true, wantCode: twilio.CodeFromNotCapable, wantKind: messaging.FailureRejected},
		{name: "not found without json", status: 404, body: "<html>nope</html>", wantPermanent: true, wantCode: "", wantKind: messaging.FailureOther, wantInError: "Not Found"},
		{name: "rate limited", status: 429, body: twilioError(20429, "Too Many Requests", 429), wantInError: "code 20429"},
		{name: "request timeout", status: 408, body: ""},
		{name: "server error", status: 500, body: twilioError(20500, "Internal Server Error", 500), wantInError: "status 500"},
		{name: "bad gateway without json", status: 502, body: "upstream down", wantInError: "Bad Gateway"},
		{name: "service unavailable", status: 503, body: twilioError(20503, "Service Unavailable", 503)},
		{name: "body echoed back is redacted", status: 400, body: twilioError(21617, "bad body: "+codeMessage.Body+" token "+authToken, 400), wantPermanent: true, wantCode: "21617", wantKind: messaging.FailureOther, wantInError: "[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeTwilio(t, tt.status, tt.body)
			s := newSender(t, twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, BaseURL: fake.URL})

			err := s.Send(context.Background(), codeMessage)
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			t.Logf("error: %v", err)
			if got := messaging.IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("got permanent %v, want %v (error %v)", got, tt.wantPermanent, err)
			}
			if got := messaging.PermanentCode(err); got != tt.wantCode {
				t.Errorf("got code %q, want %q", got, tt.wantCode)
			}
			if got := messaging.KindOf(err); got != tt.wantKind {
				t.Errorf("got kind %q, want %q", got, tt.wantKind)
			}
			if !strings.Contains(err.Error(), tt.wantInError) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantInError)
			}
			for _, secret := range []string{authToken, codeMessage.Body, "493817"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("got error %q, want it without %q", err, secret)
				}
			}
		})
	}
}

func TestSendRefusesEmptyMessage(t *testing.T) {
	tests := []struct {
		name     string
		msg      sms.Message
		wantKind messaging.FailureKind
	}{
		{name: "no recipient", msg: sms.Message{Body: "hi"}, wantKind: messaging.FailureInvalidRecipient},
		{name: "no body", msg: sms.Message{To: "+14155550123"}, wantKind: messaging.FailureOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeTwilio(t, http.StatusCreated, `{"sid":"SM1"}`)
			s := newSender(t, twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, BaseURL: fake.URL})
			err := s.Send(context.Background(), tt.msg)
			if !messaging.IsPermanent(err) {
				t.Errorf("got error %v, want a permanent one", err)
			}
			if got := messaging.KindOf(err); got != tt.wantKind {
				t.Errorf("got kind %q, want %q", got, tt.wantKind)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.requests) != 0 {
				t.Errorf("got %d requests, want 0", len(fake.requests))
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	requestEnded := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hang like a stuck provider until the client gives up. The body is
		// read first: only then does the server watch the connection and
		// end the request context when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		close(requestEnded)
	}))
	t.Cleanup(srv.Close)
	s := newSender(t, twilio.Config{
		AccountSID: accountSID, AuthToken: authToken, From: fromNumber,
		BaseURL: srv.URL, Timeout: 50 * time.Millisecond,
	})

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
	if strings.Contains(err.Error(), authToken) {
		t.Errorf("got error %q, want it without the auth token", err)
	}
	<-requestEnded // the server saw the request abandoned
}

func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	s := newSender(t, twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, BaseURL: url})
	err := s.Send(context.Background(), codeMessage)
	if err == nil || messaging.IsPermanent(err) {
		t.Errorf("got error %v, want a transient one", err)
	}
}

func TestValidate(t *testing.T) {
	valid := twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: fromNumber}
	tests := []struct {
		name    string
		edit    func(c *twilio.Config)
		wantErr string
	}{
		{name: "valid", edit: func(*twilio.Config) {}},
		{name: "valid api key without auth token", edit: func(c *twilio.Config) {
			c.AuthToken, c.APIKeySID, c.APIKeySecret = "", apiKeySID, apiSecret
		}},
		{name: "valid messaging service", edit: func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", serviceSID }},
		{name: "valid base url", edit: func(c *twilio.Config) { c.BaseURL = "http://127.0.0.1:8080/" }},
		{name: "missing account sid", edit: func(c *twilio.Config) { c.AccountSID = "" }, wantErr: "SIMPLEMODULE_TWILIO_ACCOUNT_SID is required"},
		{name: "account sid wrong prefix", edit: func(c *twilio.Config) { c.AccountSID = "SK123" }, wantErr: "SIMPLEMODULE_TWILIO_ACCOUNT_SID must start with AC"},
		{name: "account sid with a slash", edit: func(c *twilio.Config) { c.AccountSID = "AC12/../x" }, wantErr: "SIMPLEMODULE_TWILIO_ACCOUNT_SID must start with AC"},
		{name: "missing auth token", edit: func(c *twilio.Config) { c.AuthToken = "" }, wantErr: "SIMPLEMODULE_TWILIO_AUTH_TOKEN is required"},
		{name: "api key sid without secret", edit: func(c *twilio.Config) { c.APIKeySID = apiKeySID }, wantErr: "SIMPLEMODULE_TWILIO_API_KEY_SECRET is required when SIMPLEMODULE_TWILIO_API_KEY_SID is set"},
		{name: "api key secret without sid", edit: func(c *twilio.Config) { c.APIKeySecret = apiSecret }, wantErr: "SIMPLEMODULE_TWILIO_API_KEY_SID is required when SIMPLEMODULE_TWILIO_API_KEY_SECRET is set"},
		{name: "api key sid wrong prefix", edit: func(c *twilio.Config) { c.APIKeySID, c.APIKeySecret = "AC123", apiSecret }, wantErr: "SIMPLEMODULE_TWILIO_API_KEY_SID must start with SK"},
		{name: "neither from nor service", edit: func(c *twilio.Config) { c.From = "" }, wantErr: "set SIMPLEMODULE_TWILIO_FROM or SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID"},
		{name: "both from and service", edit: func(c *twilio.Config) { c.MessagingServiceSID = serviceSID }, wantErr: "set only one of SIMPLEMODULE_TWILIO_FROM and SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID"},
		{name: "service wrong prefix", edit: func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", "XX1" }, wantErr: "SIMPLEMODULE_TWILIO_MESSAGING_SERVICE_SID must start with MG"},
		{name: "relative base url", edit: func(c *twilio.Config) { c.BaseURL = "api.twilio.com" }, wantErr: "SIMPLEMODULE_TWILIO_BASE_URL must be an absolute http or https URL"},
		{name: "ftp base url", edit: func(c *twilio.Config) { c.BaseURL = "ftp://api.twilio.com" }, wantErr: "SIMPLEMODULE_TWILIO_BASE_URL must be an absolute http or https URL"},
		{name: "base url with credentials", edit: func(c *twilio.Config) { c.BaseURL = "https://u:p@api.twilio.com" }, wantErr: "SIMPLEMODULE_TWILIO_BASE_URL must be an absolute http or https URL"},
		{name: "negative timeout", edit: func(c *twilio.Config) { c.Timeout = -time.Second }, wantErr: "twilio timeout must not be negative"},
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
				if _, err := twilio.New(c); err != nil {
					t.Fatalf("New: got error %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if _, err := twilio.New(c); err == nil {
				t.Fatal("New: got nil error, want the validation error")
			}
		})
	}
}
