package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
)

// backlogTimeout bounds the backlog query at scrape time: a slow database
// must not hold the scrape (Prometheus gives up after 10 s by default).
const backlogTimeout = 2 * time.Second

// Delivered implements outbox.Observer: it counts the attempt in
// simplemodule_outbox_deliveries_total and, when the provider accepted the
// message, records the time since it was requested in
// simplemodule_outbox_delivery_duration_seconds.
func (m *Metrics) Delivered(channel, outcome string, sinceCreated time.Duration) {
	m.deliveries.WithLabelValues(channel, outcome).Inc()
	if outcome == outbox.OutcomeSent {
		m.deliveryDuration.WithLabelValues(channel).Observe(sinceCreated.Seconds())
	}
}

var _ outbox.Observer = (*Metrics)(nil)

// Backlogger reports the outbox's undelivered messages per channel;
// *outbox.Outbox is one.
type Backlogger interface {
	Backlogs(ctx context.Context) ([]outbox.Backlog, error)
}

// WatchOutbox exports ob's backlog, read from the database at each scrape:
// simplemodule_outbox_queue_depth and
// simplemodule_outbox_oldest_message_age_seconds, by channel. Call it once.
func (m *Metrics) WatchOutbox(ob Backlogger) {
	m.registry.MustRegister(newBacklogCollector(ob))
}

// backlogCollector asks the outbox for its backlog at scrape time, so the
// numbers come from the database and hold across instances and restarts.
type backlogCollector struct {
	outbox Backlogger
	depth  *prometheus.Desc
	oldest *prometheus.Desc
}

func newBacklogCollector(ob Backlogger) *backlogCollector {
	return &backlogCollector{
		outbox: ob,
		depth: prometheus.NewDesc(namespace+"_outbox_queue_depth",
			"Messages waiting to be delivered (queued or being sent), by channel.", []string{"channel"}, nil),
		oldest: prometheus.NewDesc(namespace+"_outbox_oldest_message_age_seconds",
			"Age of the oldest message waiting to be delivered, by channel; 0 when none waits.", []string{"channel"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.oldest
}

// Collect implements prometheus.Collector. A failed query is reported as an
// invalid metric: the handler logs it and serves everything else.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	backlogs, err := c.outbox.Backlogs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, fmt.Errorf("outbox backlog: %w", err))
		return
	}
	for _, b := range backlogs {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(b.Depth), b.Channel)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, b.Oldest.Seconds(), b.Channel)
	}
}
