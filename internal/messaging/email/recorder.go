package email

import (
	"context"
	"sync"
)

// Recorder is an in-memory Sender for tests. It records every message it is
// given, in order, and is safe for concurrent use.
type Recorder struct {
	// Err, when set, is returned by Send, which then records nothing. Set it
	// before the Recorder is shared between goroutines.
	Err error

	mu       sync.Mutex
	messages []Message
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{}
}

// Send records m, or returns r.Err without recording when it is set.
func (r *Recorder) Send(_ context.Context, m Message) error {
	if r.Err != nil {
		return r.Err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages = append(r.messages, m)
	return nil
}

// Messages returns a copy of the recorded messages, oldest first.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Message, len(r.messages))
	copy(out, r.messages)
	return out
}

// Last returns the most recent message sent to the address to, or the most
// recent message of all when to is empty. The bool reports whether one was
// found.
func (r *Recorder) Last(to string) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.messages) - 1; i >= 0; i-- {
		if to == "" || r.messages[i].To == to {
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
