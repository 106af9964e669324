package messaging

import (
	"context"
	"slices"
	"sync"
)

// Addressed is a message with a recipient.
type Addressed interface{ Recipient() string }

// Recorder is an in-memory sender for tests: it keeps every message it is
// given, in order, so a test can read the code or link that was sent. It is
// safe for concurrent use. sms.Recorder and email.Recorder are instances.
type Recorder[M Addressed] struct {
	// Err, when not nil, is returned by Send, which then records nothing.
	// Set it before the Recorder is shared between goroutines.
	Err error

	mu       sync.Mutex
	messages []M
}

// Send records m, or returns r.Err without recording when it is set.
func (r *Recorder[M]) Send(_ context.Context, m M) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	r.messages = append(r.messages, m)
	return nil
}

// Messages returns a copy of the recorded messages, oldest first.
func (r *Recorder[M]) Messages() []M {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages)
}

// Last returns the most recent message to the recipient to ("" means any
// recipient), and false when there is none.
func (r *Recorder[M]) Last(to string) (M, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.messages) - 1; i >= 0; i-- {
		if to == "" || r.messages[i].Recipient() == to {
			return r.messages[i], true
		}
	}
	var zero M
	return zero, false
}

// Count returns how many messages have been recorded.
func (r *Recorder[M]) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.messages)
}
