// Package messaging holds what the SMS and email senders share: the
// classification of delivery failures that the outbox worker acts on.
package messaging

import (
	"context"
	"errors"
	"fmt"
)

// PermanentError is a delivery failure that retrying cannot fix (an invalid
// number, a rejected sender, bad credentials). Other errors are transient and
// are retried with backoff.
type PermanentError struct {
	Code string // provider's error code, when it has one (e.g. Twilio "21211")
	Err  error
}

func (e *PermanentError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%v (permanent, code %s)", e.Err, e.Code)
	}
	return e.Err.Error() + " (permanent)"
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent.
func Permanent(code string, err error) error { return &PermanentError{Code: code, Err: err} }

// IsPermanent reports whether err (or anything it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// PermanentCode returns the provider code of a permanent error, or "".
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
