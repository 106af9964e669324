package sms

import "github.com/simplemodule-go/simplemodule/internal/messaging"

// Recipient is the address the message goes to.
func (m Message) Recipient() string { return m.To }

// Recorder is an in-memory Sender for tests (see messaging.Recorder).
type Recorder = messaging.Recorder[Message]

var _ Sender = (*Recorder)(nil)

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{} }
