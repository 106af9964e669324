// Package smtp is an email.Sender that delivers through an SMTP server, using
// github.com/wneessen/go-mail.
package smtp

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
)

// TLS modes accepted in Config.TLS.
const (
	// TLSNone sends in clear text; only for a relay on a trusted network.
	TLSNone = "none"
	// TLSStartTLS connects in clear text and requires the server to upgrade
	// with STARTTLS (usually port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (usually port 465).
	TLSImplicit = "implicit"
)

// defaultTimeout bounds connecting and each SMTP exchange when Config.Timeout
// is zero, so a provider outage cannot hold a delivery worker for long.
const defaultTimeout = 15 * time.Second

// Config is the SMTP server and the sender identity. The fields map to the
// SIMPLEMODULE_SMTP_* settings.
type Config struct {
	// Host is the server name or IP, without a port (SIMPLEMODULE_SMTP_HOST).
	Host string
	// Port is the server port (SIMPLEMODULE_SMTP_PORT); zero means the usual
	// port for the TLS mode: 25, 587 or 465.
	Port int
	// Username enables SMTP AUTH PLAIN when set (SIMPLEMODULE_SMTP_USERNAME).
	Username string
	// Password goes with Username (SIMPLEMODULE_SMTP_PASSWORD).
	Password string
	// TLS is "none", "starttls" or "implicit" (SIMPLEMODULE_SMTP_TLS); empty
	// means "starttls".
	TLS string
	// From is the bare sender address, e.g. "no-reply@example.com"
	// (SIMPLEMODULE_SMTP_FROM).
	From string
	// FromName is the optional display name for From
	// (SIMPLEMODULE_SMTP_FROM_NAME).
	FromName string
	// Timeout bounds the connection and each exchange; zero means 15s.
	Timeout time.Duration
	// InsecureSkipVerify turns off certificate checks. Tests only.
	InsecureSkipVerify bool
	// RootCAs, when set, replaces the system roots for verifying the server's
	// certificate. Meant for tests and private CAs.
	RootCAs *x509.CertPool
}

// Validate reports the first invalid setting, naming its environment variable.
func (c Config) Validate() error {
	if c.Host == "" {
		return errors.New("SIMPLEMODULE_SMTP_HOST is required")
	}
	if _, _, err := net.SplitHostPort(c.Host); err == nil {
		return errors.New("SIMPLEMODULE_SMTP_HOST must be a host name without a port (use SIMPLEMODULE_SMTP_PORT)")
	}
	if c.Port < 0 || c.Port > 65535 {
		return errors.New("SIMPLEMODULE_SMTP_PORT must be between 1 and 65535")
	}
	switch c.TLS {
	case "", TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return errors.New("SIMPLEMODULE_SMTP_TLS must be none, starttls or implicit")
	}
	if c.Username != "" && c.Password == "" {
		return errors.New("SIMPLEMODULE_SMTP_PASSWORD is required when SIMPLEMODULE_SMTP_USERNAME is set")
	}
	if c.Username == "" && c.Password != "" {
		return errors.New("SIMPLEMODULE_SMTP_USERNAME is required when SIMPLEMODULE_SMTP_PASSWORD is set")
	}
	if c.From == "" {
		return errors.New("SIMPLEMODULE_SMTP_FROM is required")
	}
	if a, err := mail.ParseAddress(c.From); err != nil || a.Name != "" || a.Address != c.From {
		return errors.New("SIMPLEMODULE_SMTP_FROM is not a valid address (a bare address; the name goes in SIMPLEMODULE_SMTP_FROM_NAME)")
	}
	return nil
}

// Sender delivers email.Message values through one SMTP server. It opens a
// connection per message and is safe for concurrent use.
type Sender struct {
	addr string // host:port, for errors
	host string
	from mail.Address
	opts []gomail.Option
}

var _ email.Sender = (*Sender)(nil)

// New validates c and returns a Sender for it.
func New(c Config) (*Sender, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	mode := c.TLS
	if mode == "" {
		mode = TLSStartTLS
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	tlsConfig := &tls.Config{
		ServerName:         c.Host,
		MinVersion:         tls.VersionTLS12,
		RootCAs:            c.RootCAs,
		InsecureSkipVerify: c.InsecureSkipVerify,
	}
	var policy gomail.Option
	port := c.Port
	switch mode {
	case TLSNone:
		policy = gomail.WithTLSPolicy(gomail.NoTLS)
		port = cmp.Or(port, 25)
	case TLSStartTLS:
		policy = gomail.WithTLSPolicy(gomail.TLSMandatory)
		port = cmp.Or(port, 587)
	case TLSImplicit:
		policy = gomail.WithSSL()
		port = cmp.Or(port, 465)
	}
	opts := []gomail.Option{
		policy,
		gomail.WithPort(port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConfig),
	}
	if c.Username != "" {
		// Plain AUTH refuses to send credentials over an unencrypted link
		// unless the server is localhost, which is what we want.
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(c.Username),
			gomail.WithPassword(c.Password),
		)
	}
	s := &Sender{
		addr: net.JoinHostPort(c.Host, strconv.Itoa(port)),
		host: c.Host,
		from: mail.Address{Name: c.FromName, Address: c.From},
		opts: opts,
	}
	// Build a client once so option errors surface at start-up, not on the
	// first message.
	if _, err := gomail.NewClient(s.host, s.opts...); err != nil {
		return nil, fmt.Errorf("smtp client for %s: %w", s.addr, err)
	}
	return s, nil
}

// Send delivers m as multipart/alternative text (and HTML when m.HTML is set).
// Errors name the server's host:port but never the password or the body.
func (s *Sender) Send(ctx context.Context, m email.Message) error {
	msg := gomail.NewMsg()
	from := s.from
	msg.FromMailAddress(&from)
	if err := msg.To(m.To); err != nil {
		// An address that does not parse will not parse on a retry either.
		return messaging.PermanentFailure(messaging.FailureInvalidRecipient, "", fmt.Errorf("smtp send to %s: recipient: %w", s.addr, err))
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp send to %s: %w", s.addr, err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(fmt.Errorf("smtp send to %s: %w", s.addr, err))
	}
	return nil
}

// classify marks a 5xx reply (mailbox unknown, message refused, sender
// refused) permanent, with its kind; 4xx replies, timeouts, connection errors
// and refused credentials (which fail at dial time, before any command)
// stay transient and are retried, so fixed settings still deliver.
func classify(err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return messaging.PermanentFailure(kindOf(se.Reason, se.ErrorCode(), se.EnhancedStatusCode()), strconv.Itoa(se.ErrorCode()), err)
	}
	return err
}

// kindOf reads a permanent reply: the command it answered, the enhanced
// status code (RFC 3463) when the server sends one, else the basic code.
// A server we submit to answers synchronously only about the address and
// about us; the recipient's own server answers later, by bounce.
func kindOf(stage gomail.SendErrReason, code int, enhanced string) messaging.FailureKind {
	if stage == gomail.ErrSMTPMailFrom {
		return messaging.FailureRejected // the server does not take mail from us (authentication, sender address)
	}
	class, detail, _ := strings.Cut(strings.TrimPrefix(enhanced, "5."), ".")
	switch {
	case enhanced == "":
	case class == "1" && (detail == "7" || detail == "8"):
		return messaging.FailureRejected // 5.1.7 / 5.1.8: our sender address is refused
	case class == "1":
		return messaging.FailureInvalidRecipient // 5.1.1 no such mailbox, 5.1.2 no such domain, 5.1.3 bad syntax
	case class == "2" && (detail == "1" || detail == "2"):
		return messaging.FailureUnreachable // 5.2.1 mailbox disabled, 5.2.2 mailbox full
	case class == "7":
		return messaging.FailureRejected // 5.7.x: relaying denied, policy refuses us
	default:
		return messaging.FailureOther
	}
	if stage == gomail.ErrSMTPRcptTo {
		switch code {
		case 550, 551, 553: // mailbox unavailable, not local, name not allowed
			return messaging.FailureInvalidRecipient
		case 552: // mailbox over its storage allocation
			return messaging.FailureUnreachable
		}
	}
	return messaging.FailureOther
}
