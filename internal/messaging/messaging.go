// Package messaging holds what the SMS and email senders share: the
// classification of delivery failures that the outbox worker acts on, and
// the provider-neutral kinds that callers outside messaging may read.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// FailureKind says, without naming any provider, why a message could not be
// delivered, so a page can tell a user what to do ("check the number")
// without knowing Twilio's or an SMTP server's codes. Each provider package
// maps its own codes to a kind; the codes never leave it as meaning.
type FailureKind string

// The failure kinds. A permanent failure without a more precise kind is
// FailureOther.
const (
	// FailureInvalidRecipient: the number or address is not valid (no
	// such number, an unknown mailbox).
	FailureInvalidRecipient FailureKind = "invalid-recipient"
	// FailureUnreachable: the recipient exists but cannot receive this kind
	// of message (a landline, a country the sender may not reach, a full or
	// disabled mailbox).
	FailureUnreachable FailureKind = "unreachable"
	// FailureBlocked: the recipient unsubscribed (replied STOP) or their
	// side refuses our messages.
	FailureBlocked FailureKind = "blocked"
	// FailureRejected: the provider refused us, not the recipient: bad
	// credentials, a sender it does not accept. An operator must act; a new
	// attempt by the user will fail the same way.
	FailureRejected FailureKind = "rejected"
	// FailureOther: any other permanent failure, including a message that
	// ran out of attempts or expired before delivery.
	FailureOther FailureKind = "other"
)

// PermanentError is a delivery failure that retrying cannot fix (an invalid
// number, a rejected sender, bad credentials). Other errors are transient and
// are retried with backoff.
type PermanentError struct {
	Kind FailureKind // what went wrong, provider-neutral; "" reads as FailureOther
	Code string      // provider's own error code, for operators (opaque outside its provider's package)
	Err  error
}

func (e *PermanentError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%v (permanent, %s, code %s)", e.Err, e.kind(), e.Code)
	}
	return fmt.Sprintf("%v (permanent, %s)", e.Err, e.kind())
}

func (e *PermanentError) Unwrap() error { return e.Err }

func (e *PermanentError) kind() FailureKind {
	if e.Kind == "" {
		return FailureOther
	}
	return e.Kind
}

// PermanentFailure marks err as permanent, of kind, with the provider's own
// code (which may be "").
func PermanentFailure(kind FailureKind, code string, err error) error {
	return &PermanentError{Kind: kind, Code: code, Err: err}
}

// Permanent marks err as permanent without a precise kind (FailureOther).
// Providers that can say more use PermanentFailure.
func Permanent(code string, err error) error { return PermanentFailure(FailureOther, code, err) }

// IsPermanent reports whether err (or anything it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// KindOf returns the kind of a permanent error (FailureOther when it has
// none), or "" when err is nil or transient.
func KindOf(err error) FailureKind {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.kind()
	}
	return ""
}

// PermanentCode returns the provider code of a permanent error, or "". It
// is detail for operators; callers outside messaging use KindOf.
func PermanentCode(err error) string {
	var p *PermanentError
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

type messageIDKey struct{}

// WithMessageID tells a sender the stable id of the message it delivers, so
// providers that support it (the webhook's Idempotency-Key) can let the
// receiver drop a repeat after a retry.
func WithMessageID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, messageIDKey{}, id)
}

// MessageID returns the id set by WithMessageID, or "".
func MessageID(ctx context.Context) string {
	id, _ := ctx.Value(messageIDKey{}).(string)
	return id
}

// ProviderTransport is an HTTP transport for senders that call one
// provider's API: the outbox sends up to its concurrency at once, and the
// default transport would keep only two idle connections per host, opening
// (and TLS-handshaking) a new one for nearly every message under load.
func ProviderTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 128
	return t
}
