package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/email"
	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
	"github.com/simplemodule-go/simplemodule/internal/platform/metrics"
)

func TestObserverCounts(t *testing.T) {
	m := newMetrics()
	var o outbox.Observer = m
	o.Delivered(outbox.ChannelSMS, outbox.OutcomeRetry, 2*time.Second)
	o.Delivered(outbox.ChannelSMS, outbox.OutcomeSent, 5*time.Second)
	o.Delivered(outbox.ChannelEmail, outbox.OutcomeFailed, time.Minute)
	o.Delivered(outbox.ChannelEmail, outbox.OutcomeSent, 40*time.Millisecond)
	o.Delivered(outbox.ChannelEmail, outbox.OutcomeSent, 60*time.Millisecond)
	counts := []struct {
		name, channel, outcome string
		want                   float64
	}{
		{"sms retried", "sms", "retry", 1},
		{"sms sent", "sms", "sent", 1},
		{"email failed", "email", "failed", 1},
		{"email sent", "email", "sent", 2},
		{"sms never failed", "sms", "failed", 0},
	}
	for _, tt := range counts {
		t.Run(tt.name, func(t *testing.T) {
			labels := map[string]string{"channel": tt.channel, "outcome": tt.outcome}
			if got := counter(t, m, "simplemodule_outbox_deliveries_total", labels); got != tt.want {
				t.Errorf("got deliveries%v = %v, want %v", labels, got, tt.want)
			}
		})
	}
	// Latency is the time until the provider accepted: sent attempts only.
	for channel, want := range map[string]uint64{"sms": 1, "email": 2} {
		labels := map[string]string{"channel": channel}
		if got := observations(t, m, "simplemodule_outbox_delivery_duration_seconds", labels); got != want {
			t.Errorf("got %d latencies for %s, want %d", got, channel, want)
		}
	}
	h := find(t, m, "simplemodule_outbox_delivery_duration_seconds", map[string]string{"channel": "email"}).GetHistogram()
	if got, want := h.GetSampleSum(), 0.1; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("got email latency sum %vs, want %vs", got, want)
	}
}

func TestBacklogFromDatabase(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		db := dbtest.Open(t, engine, outbox.Migrations())
		clk := clock.NewFake(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
		m := newMetrics()
		ob, err := outbox.New(db, clk, []byte("0123456789abcdef0123456789abcdef"), sms.NewRecorder(), email.NewRecorder(),
			slog.New(slog.DiscardHandler), outbox.Config{Observer: m})
		if err != nil {
			t.Fatal(err)
		}
		m.WatchOutbox(ob)
		enqueueSMS := func(to string) {
			t.Helper()
			if _, err := ob.EnqueueSMS(ctx, db, sms.Message{To: to, Body: "code 123456", Purpose: "test"}, outbox.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		enqueueSMS("+14155550101")
		clk.Advance(30 * time.Second)
		enqueueSMS("+14155550102")
		if _, err := ob.EnqueueEmail(ctx, db, email.Message{To: "a@example.com", Subject: "Hi", Text: "hello"}, outbox.Options{}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(15 * time.Second)

		gauges := []struct {
			name, metric, channel string
			want                  float64
		}{
			{"sms depth", "simplemodule_outbox_queue_depth", "sms", 2},
			{"sms oldest", "simplemodule_outbox_oldest_message_age_seconds", "sms", 45},
			{"email depth", "simplemodule_outbox_queue_depth", "email", 1},
			{"email oldest", "simplemodule_outbox_oldest_message_age_seconds", "email", 15},
		}
		for _, tt := range gauges {
			labels := map[string]string{"channel": tt.channel}
			if got := find(t, m, tt.metric, labels).GetGauge().GetValue(); got != tt.want {
				t.Errorf("%s: got %s%v = %v, want %v", tt.name, tt.metric, labels, got, tt.want)
			}
		}

		// Delivered: the queue is empty, and the outbox told its Observer.
		if _, err := ob.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		for channel, want := range map[string]float64{"sms": 2, "email": 1} {
			sent := map[string]string{"channel": channel, "outcome": outbox.OutcomeSent}
			if got := counter(t, m, "simplemodule_outbox_deliveries_total", sent); got != want {
				t.Errorf("got %v %s deliveries counted, want %v", got, channel, want)
			}
			h := find(t, m, "simplemodule_outbox_delivery_duration_seconds", map[string]string{"channel": channel}).GetHistogram()
			if got := float64(h.GetSampleCount()); got != want {
				t.Errorf("got %v %s latencies, want %v", got, channel, want)
			}
		}
		// Requested 45 s and 15 s before delivery (the fake clock stood still).
		smsLatency := find(t, m, "simplemodule_outbox_delivery_duration_seconds", map[string]string{"channel": "sms"}).GetHistogram()
		if got := smsLatency.GetSampleSum(); got != 60 {
			t.Errorf("got SMS latencies summing to %vs, want 60s", got)
		}
		for _, channel := range []string{"sms", "email"} {
			labels := map[string]string{"channel": channel}
			if got := find(t, m, "simplemodule_outbox_queue_depth", labels).GetGauge().GetValue(); got != 0 {
				t.Errorf("after delivery: got %s depth %v, want 0", channel, got)
			}
			if got := find(t, m, "simplemodule_outbox_oldest_message_age_seconds", labels).GetGauge().GetValue(); got != 0 {
				t.Errorf("after delivery: got %s oldest age %v, want 0", channel, got)
			}
		}
	})
}

type brokenOutbox struct{}

func (brokenOutbox) Backlogs(context.Context) ([]outbox.Backlog, error) {
	return nil, errors.New("database is down")
}

func TestBacklogErrorKeepsTheRestOfTheScrape(t *testing.T) {
	m := newMetrics()
	m.WatchOutbox(brokenOutbox{})
	m.SignIn(metrics.SignInSucceeded)
	scrape(t, m) // the handler counts a gathering error after serving the scrape
	code, body := scrape(t, m)
	if code != http.StatusOK {
		t.Fatalf("got status %d, want 200 with the metrics that could be read", code)
	}
	if !strings.Contains(body, "simplemodule_signins_total") {
		t.Error("got a scrape without simplemodule_signins_total, want the healthy metrics served")
	}
	if strings.Contains(body, "simplemodule_outbox_queue_depth{") {
		t.Error("got a queue depth although the query failed, want none")
	}
	if !strings.Contains(body, "promhttp_metric_handler_errors_total{cause=\"gathering\"} 1") {
		t.Error("got no gathering error counted, want promhttp_metric_handler_errors_total to show it")
	}
}
