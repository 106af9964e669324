package outbox

// SetListening makes o call f each time its LISTEN connection is ready, so
// a test can queue a message that only a notification can announce. Call
// it before Run.
func SetListening(o *Outbox, f func()) { o.listening = f }
