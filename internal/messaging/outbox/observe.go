package outbox

import (
	"context"
	"time"
)

// Outcomes of one delivery attempt, as reported to an Observer.
const (
	OutcomeSent   = "sent"   // the provider accepted the message
	OutcomeRetry  = "retry"  // a transient failure; the message is due again later
	OutcomeFailed = "failed" // a permanent failure or the last attempt; the message is given up
)

// Observer hears about every delivery attempt, e.g. to export metrics. Its
// methods are called from delivery goroutines and must not block.
type Observer interface {
	// Delivered reports one attempt on channel with its outcome and the time
	// from the message's creation to the provider's answer.
	Delivered(channel, outcome string, sinceCreated time.Duration)
}

// nopObserver is used when no Observer is configured.
type nopObserver struct{}

func (nopObserver) Delivered(string, string, time.Duration) {}

// Backlog is the undelivered part of one channel's queue.
type Backlog struct {
	Channel string
	Depth   int           // messages queued or being sent
	Oldest  time.Duration // age of the oldest of them; 0 when Depth is 0
}

// Backlogs returns the backlog of every channel (both channels, even when
// empty), for metrics and status pages.
func (o *Outbox) Backlogs(ctx context.Context) ([]Backlog, error) {
	now := o.Clock.Now()
	out := []Backlog{{Channel: ChannelSMS}, {Channel: ChannelEmail}}
	rows, err := o.DB.QueryContext(ctx, `SELECT channel, COUNT(*), MIN(created_at) FROM outbox
		WHERE status IN ('queued', 'sending') GROUP BY channel`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var channel string
		var depth int
		var oldest int64
		if err := rows.Scan(&channel, &depth, &oldest); err != nil {
			return nil, err
		}
		for i := range out {
			if out[i].Channel == channel {
				out[i].Depth = depth
				out[i].Oldest = max(now.Sub(time.UnixMilli(oldest)), 0)
			}
		}
	}
	return out, rows.Err()
}
