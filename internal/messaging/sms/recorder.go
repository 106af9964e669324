package sms

import (
	"context"
	"slices"
	"sync"
)

// Recorder is an in-memory Sender for tests: it keeps every message it is
// given so a test can read the code that was sent. It is safe for
// concurrent use.
type Recorder struct {
	// Err, when not nil, is returned by Send, which then records nothing.
	// Set it before the Recorder is shared between goroutines.
	Err error

	mu       sync.Mutex
	messages []Message
}

var _ Sender = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{}
}

// Send records m, or returns r.Err without recording when it is set.
func (r *Recorder) Send(_ context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Err != nil {
		return r.Err
	}
	r.messages = append(r.messages, m)
	return nil
}

// Messages returns a copy of the recorded messages, oldest first.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages)
}

// Last returns the most recent message sent to the recipient to, and
// false when none was.
func (r *Recorder) Last(to string) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.messages) - 1; i >= 0; i-- {
		if r.messages[i].To == to {
			return r.messages[i], true
		}
	}
	return Message{}, false
}

// Count returns how many messages have been recorded.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.messages)
}
