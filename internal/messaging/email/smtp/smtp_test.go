package smtp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosasl "github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email/smtp"
)

func TestValidate(t *testing.T) {
	valid := smtp.Config{Host: "smtp.example.com", Port: 587, TLS: "starttls", From: "no-reply@example.com"}
	tests := []struct {
		name    string
		edit    func(c *smtp.Config)
		wantErr string
	}{
		{name: "valid", edit: func(*smtp.Config) {}},
		{name: "valid with auth and name", edit: func(c *smtp.Config) {
			c.Username, c.Password, c.FromName = "u", "p", "Simple Module"
		}},
		{name: "zero port and empty tls use defaults", edit: func(c *smtp.Config) { c.Port, c.TLS = 0, "" }},
		{name: "tls none", edit: func(c *smtp.Config) { c.TLS = "none" }},
		{name: "tls implicit", edit: func(c *smtp.Config) { c.TLS = "implicit" }},
		{name: "missing host", edit: func(c *smtp.Config) { c.Host = "" }, wantErr: "SIMPLEMODULE_SMTP_HOST is required"},
		{name: "host with port", edit: func(c *smtp.Config) { c.Host = "smtp.example.com:587" }, wantErr: "SIMPLEMODULE_SMTP_HOST must be a host name without a port"},
		{name: "negative port", edit: func(c *smtp.Config) { c.Port = -1 }, wantErr: "SIMPLEMODULE_SMTP_PORT must be between 1 and 65535"},
		{name: "port too large", edit: func(c *smtp.Config) { c.Port = 65536 }, wantErr: "SIMPLEMODULE_SMTP_PORT must be between 1 and 65535"},
		{name: "unknown tls", edit: func(c *smtp.Config) { c.TLS = "ssl" }, wantErr: "SIMPLEMODULE_SMTP_TLS must be none, starttls or implicit"},
		{name: "username without password", edit: func(c *smtp.Config) { c.Username = "u" }, wantErr: "SIMPLEMODULE_SMTP_PASSWORD is required when SIMPLEMODULE_SMTP_USERNAME is set"},
		{name: "password without username", edit: func(c *smtp.Config) { c.Password = "p" }, wantErr: "SIMPLEMODULE_SMTP_USERNAME is required when SIMPLEMODULE_SMTP_PASSWORD is set"},
		{name: "missing from", edit: func(c *smtp.Config) { c.From = "" }, wantErr: "SIMPLEMODULE_SMTP_FROM is required"},
		{name: "from not an address", edit: func(c *smtp.Config) { c.From = "no-reply" }, wantErr: "SIMPLEMODULE_SMTP_FROM is not a valid address"},
		{name: "from with name", edit: func(c *smtp.Config) { c.From = "Simple <no-reply@example.com>" }, wantErr: "SIMPLEMODULE_SMTP_FROM is not a valid address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
			if _, newErr := smtp.New(c); newErr == nil || newErr.Error() != err.Error() {
				t.Errorf("New: got %v, want %v", newErr, err)
			}
		})
	}
}

func TestSend(t *testing.T) {
	cert, pool := selfSignedCert(t)
	msg := email.Message{
		To:      "ada@example.com",
		Subject: "Confirm your email",
		Text:    "Open http://127.0.0.1:8080/account/confirm-email?userId=1&code=abc to confirm.",
	}
	withHTML := msg
	withHTML.HTML = `<p><a href="http://127.0.0.1:8080/x?a=1&amp;b=2">Confirm</a></p>`

	tests := []struct {
		name          string
		server        serverOptions
		config        func(c *smtp.Config)
		msg           email.Message
		wantAuth      string                // username the server saw authenticate, "" for none
		wantPermanent bool                  // for error rows: the outbox must not retry
		wantKind      messaging.FailureKind // for error rows: "" when transient
		wantErr       string                // substring of the error; "" means delivered
	}{
		{
			name:   "plain text, no tls",
			config: func(c *smtp.Config) { c.TLS = "none" },
			msg:    msg,
		},
		{
			name:   "text and html, no tls",
			config: func(c *smtp.Config) { c.TLS = "none" },
			msg:    withHTML,
		},
		{
			name:   "starttls with root CA",
			server: serverOptions{tls: cert},
			config: func(c *smtp.Config) { c.TLS = "starttls"; c.RootCAs = pool },
			msg:    msg,
		},
		{
			name:   "starttls skipping verification",
			server: serverOptions{tls: cert},
			config: func(c *smtp.Config) { c.TLS = "starttls"; c.InsecureSkipVerify = true },
			msg:    msg,
		},
		{
			name:    "starttls with an untrusted certificate",
			server:  serverOptions{tls: cert},
			config:  func(c *smtp.Config) { c.TLS = "starttls" },
			msg:     msg,
			wantErr: "certificate",
		},
		{
			name:    "starttls required but not offered",
			config:  func(c *smtp.Config) { c.TLS = "starttls" },
			msg:     msg,
			wantErr: "does not support STARTTLS",
		},
		{
			name:   "implicit tls",
			server: serverOptions{tls: cert, implicit: true},
			config: func(c *smtp.Config) { c.TLS = "implicit"; c.RootCAs = pool },
			msg:    withHTML,
		},
		{
			name:   "auth over starttls",
			server: serverOptions{tls: cert, username: "mailer", password: "s3cret-pw"},
			config: func(c *smtp.Config) {
				c.TLS, c.RootCAs, c.Username, c.Password = "starttls", pool, "mailer", "s3cret-pw"
			},
			msg:      msg,
			wantAuth: "mailer",
		},
		{
			name:   "auth without tls on localhost",
			server: serverOptions{username: "mailer", password: "s3cret-pw", insecureAuth: true},
			config: func(c *smtp.Config) {
				c.TLS, c.Username, c.Password = "none", "mailer", "s3cret-pw"
			},
			msg:      msg,
			wantAuth: "mailer",
		},
		{
			name:   "wrong password",
			server: serverOptions{tls: cert, username: "mailer", password: "s3cret-pw"},
			config: func(c *smtp.Config) {
				c.TLS, c.RootCAs, c.Username, c.Password = "starttls", pool, "mailer", "wrong-pw"
			},
			msg:     msg,
			wantErr: "535", // refused at dial time: retried, so fixed credentials still deliver
		},
		{
			name:          "server requires auth, no username",
			server:        serverOptions{tls: cert, username: "mailer", password: "s3cret-pw"},
			config:        func(c *smtp.Config) { c.TLS, c.RootCAs = "starttls", pool },
			msg:           msg,
			wantErr:       "Please authenticate first",
			wantPermanent: true, // a 5xx reply to MAIL FROM
			wantKind:      messaging.FailureRejected,
		},
		{
			name:          "invalid recipient",
			config:        func(c *smtp.Config) { c.TLS = "none" },
			msg:           email.Message{To: "not an address", Subject: "s", Text: "secret body"},
			wantErr:       "recipient",
			wantPermanent: true,
			wantKind:      messaging.FailureInvalidRecipient,
		},
		{
			name:          "unknown mailbox",
			server:        serverOptions{rcptErr: &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user"}},
			config:        func(c *smtp.Config) { c.TLS = "none" },
			msg:           msg,
			wantErr:       "550",
			wantPermanent: true,
			wantKind:      messaging.FailureInvalidRecipient,
		},
		{
			name:          "mailbox unavailable without enhanced code",
			server:        serverOptions{rcptErr: &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.NoEnhancedCode, Message: "Mailbox unavailable"}},
			config:        func(c *smtp.Config) { c.TLS = "none" },
			msg:           msg,
			wantErr:       "550",
			wantPermanent: true,
			wantKind:      messaging.FailureInvalidRecipient,
		},
		{
			name:          "mailbox full",
			server:        serverOptions{rcptErr: &gosmtp.SMTPError{Code: 552, EnhancedCode: gosmtp.EnhancedCode{5, 2, 2}, Message: "Mailbox full"}},
			config:        func(c *smtp.Config) { c.TLS = "none" },
			msg:           msg,
			wantErr:       "552",
			wantPermanent: true,
			wantKind:      messaging.FailureUnreachable,
		},
		{
			name:          "mailbox disabled",
			server:        serverOptions{rcptErr: &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 2, 1}, Message: "Mailbox disabled"}},
			config:        func(c *smtp.Config) { c.TLS = "none" },
			msg:           msg,
			wantErr:       "550",
			wantPermanent: true,
			wantKind:      messaging.FailureUnreachable,
		},
		{
			name:          "relaying denied",
			server:        serverOptions{rcptErr: &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}},
			config:        func(c *smtp.Config) { c.TLS = "none" },
			msg:           msg,
			wantErr:       "554",
			wantPermanent: true,
			wantKind:      messaging.FailureRejected,
		},
		{
			name:          "message refused after data",
			server:        serverOptions{dataErr: &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.NoEnhancedCode, Message: "Transaction failed"}},
			config:        func(c *smtp.Config) { c.TLS = "none" },
			msg:           msg,
			wantErr:       "554",
			wantPermanent: true,
			wantKind:      messaging.FailureOther,
		},
		{
			name:     "mailbox busy is retried",
			server:   serverOptions{rcptErr: &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 1}, Message: "Try again later"}},
			config:   func(c *smtp.Config) { c.TLS = "none" },
			msg:      msg,
			wantErr:  "450",
			wantKind: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.server)
			c := smtp.Config{
				Host:     "127.0.0.1",
				Port:     srv.port,
				From:     "no-reply@example.com",
				FromName: "Simple Module",
				Timeout:  5 * time.Second,
			}
			tt.config(&c)
			s, err := smtp.New(c)
			if err != nil {
				t.Fatalf("New: got %v, want nil", err)
			}
			err = s.Send(context.Background(), tt.msg)

			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if prefix := "smtp send to 127.0.0.1:" + strconv.Itoa(srv.port) + ": "; !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("got error %q, want prefix %q", err, prefix)
				}
				t.Logf("error: %v", err)
				if got := messaging.IsPermanent(err); got != tt.wantPermanent {
					t.Errorf("permanent: got %v, want %v (a 5xx or unparseable address is permanent; the rest are retried)", got, tt.wantPermanent)
				}
				if got := messaging.KindOf(err); got != tt.wantKind {
					t.Errorf("kind: got %q, want %q", got, tt.wantKind)
				}
				assertNoSecrets(t, err, c.Password, tt.msg.Text)
				if got := len(srv.received()); got != 0 {
					t.Errorf("got %d delivered messages, want 0", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}

			got := srv.received()
			if len(got) != 1 {
				t.Fatalf("got %d delivered messages, want 1", len(got))
			}
			r := got[0]
			if r.from != "no-reply@example.com" {
				t.Errorf("envelope from: got %q, want %q", r.from, "no-reply@example.com")
			}
			if len(r.to) != 1 || r.to[0] != tt.msg.To {
				t.Errorf("envelope to: got %q, want [%q]", r.to, tt.msg.To)
			}
			if r.auth != tt.wantAuth {
				t.Errorf("authenticated as: got %q, want %q", r.auth, tt.wantAuth)
			}
			parsed := parseMessage(t, r.data)
			if parsed.to != tt.msg.To {
				t.Errorf("To header: got %q, want %q", parsed.to, tt.msg.To)
			}
			if parsed.subject != tt.msg.Subject {
				t.Errorf("Subject: got %q, want %q", parsed.subject, tt.msg.Subject)
			}
			if want := `"Simple Module" <no-reply@example.com>`; parsed.from != want {
				t.Errorf("From header: got %q, want %q", parsed.from, want)
			}
			if got := strings.TrimRight(parsed.parts["text/plain"], "\r\n"); got != tt.msg.Text {
				t.Errorf("text body: got %q, want %q", got, tt.msg.Text)
			}
			if got := strings.TrimRight(parsed.parts["text/html"], "\r\n"); got != tt.msg.HTML {
				t.Errorf("html body: got %q, want %q", got, tt.msg.HTML)
			}
		})
	}
}

func TestSendToStoppedServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := smtp.New(smtp.Config{
		Host: "127.0.0.1", Port: port, TLS: "none",
		Username: "mailer", Password: "s3cret-pw",
		From: "no-reply@example.com", Timeout: time.Second,
	})
	if err != nil {
		t.Fatalf("New: got %v, want nil", err)
	}
	body := "code 123456"
	err = s.Send(context.Background(), email.Message{To: "ada@example.com", Subject: "s", Text: body})
	if want := "smtp send to " + addr + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want an error starting %q", err, want)
	}
	assertNoSecrets(t, err, "s3cret-pw", body)
}

func TestSendCancelledContext(t *testing.T) {
	srv := startServer(t, serverOptions{})
	s, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: srv.port, TLS: "none", From: "no-reply@example.com"})
	if err != nil {
		t.Fatalf("New: got %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.Send(ctx, email.Message{To: "ada@example.com", Subject: "s", Text: "t"})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if got := len(srv.received()); got != 0 {
		t.Errorf("got %d delivered messages, want 0", got)
	}
}

func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains secret %q", err, s)
		}
	}
}

// serverOptions configure the in-process SMTP server.
type serverOptions struct {
	tls          *tls.Certificate // offer STARTTLS, or implicit TLS with implicit
	implicit     bool
	username     string // when set, AUTH PLAIN is required with password
	password     string
	insecureAuth bool              // offer AUTH without TLS
	rcptErr      *gosmtp.SMTPError // the reply to every RCPT TO, when set
	dataErr      *gosmtp.SMTPError // the reply after DATA, when set
}

type received struct {
	auth string
	from string
	to   []string
	data []byte
}

type testServer struct {
	port int

	mu       sync.Mutex
	messages []received
}

func (s *testServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	ts := &testServer{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &session{server: ts, opts: o}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.AllowInsecureAuth = o.insecureAuth
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.tls != nil {
		tlsConfig := &tls.Config{Certificates: []tls.Certificate{*o.tls}, MinVersion: tls.VersionTLS12}
		if o.implicit {
			l = tls.NewListener(l, tlsConfig)
		} else {
			srv.TLSConfig = tlsConfig
		}
	}
	ts.port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		// Close the listener too: srv.Close misses it when Serve has not
		// registered it yet.
		_ = srv.Close()
		_ = l.Close()
		<-done
	})
	return ts
}

// session records one SMTP transaction; it requires AUTH when the server
// has a username.
type session struct {
	server *testServer
	opts   serverOptions
	cur    received
}

func (s *session) AuthMechanisms() []string { return []string{gosasl.Plain} }

func (s *session) Auth(mech string) (gosasl.Server, error) {
	if mech != gosasl.Plain {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	return gosasl.NewPlainServer(func(_, username, password string) error {
		if s.opts.username == "" || username != s.opts.username || password != s.opts.password {
			return gosmtp.ErrAuthFailed
		}
		s.cur.auth = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.opts.username != "" && s.cur.auth == "" {
		return gosmtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.opts.rcptErr != nil {
		return s.opts.rcptErr
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.opts.dataErr != nil {
		return s.opts.dataErr
	}
	s.cur.data = data
	s.server.mu.Lock()
	s.server.messages = append(s.server.messages, s.cur)
	s.server.mu.Unlock()
	return nil
}

func (s *session) Reset() {
	s.cur = received{auth: s.cur.auth}
}

func (s *session) Logout() error { return nil }

type parsedMessage struct {
	from, to, subject string
	parts             map[string]string // media type → decoded body
}

// parseMessage reads a received message and decodes its text and HTML parts,
// whether or not it is multipart.
func parseMessage(t *testing.T, data []byte) parsedMessage {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	p := parsedMessage{
		from:    m.Header.Get("From"),
		to:      strings.Trim(m.Header.Get("To"), "<>"),
		subject: subject,
		parts:   map[string]string{},
	}
	collectParts(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, p.parts)
	return p
}

func collectParts(t *testing.T, contentType, encoding string, body io.Reader, into map[string]string) {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("parse content type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("read part: %v", err)
			}
			// NextPart already decodes quoted-printable and drops the header.
			collectParts(t, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, into)
		}
	}
	if strings.EqualFold(encoding, "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	into[mediaType] = string(b)
}

// selfSignedCert returns an ECDSA certificate for 127.0.0.1 and localhost and
// a pool that trusts it.
func selfSignedCert(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtp test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
