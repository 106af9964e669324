// Package sms defines how modules send text messages and provides the
// implementations that need no provider: a console sender for development
// and an in-memory recorder for tests. Real providers live in sub-packages
// named after what they wrap (sms/twilio, sms/webhook).
package sms

import "context"

// Message is one text message to a single recipient.
type Message struct {
	// To is the recipient in E.164 format, for example "+14155550123".
	To string
	// Body is the full text of the message.
	Body string
	// Purpose says why the message is sent, for example
	// "phone-verification"; senders may use it for logging or routing.
	Purpose string
}

// Sender delivers text messages. Implementations must be safe for
// concurrent use.
type Sender interface {
	// Send delivers m or returns an error saying why it could not
	// (messaging.PermanentFailure when retrying cannot help). It must give
	// up when ctx ends: the outbox cuts a send off by its context, and a
	// send that ignored that could outlive the message's lease.
	Send(ctx context.Context, m Message) error
}
