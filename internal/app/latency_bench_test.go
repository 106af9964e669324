package app_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// slowProvider answers after delay, like an SMS API under load, and, when
// arrived is set, reports when each message got there. Real time is the
// point here: this measures, it asserts nothing.
type slowProvider struct {
	delay   time.Duration
	inner   *sms.Recorder
	arrived chan time.Time
}

func (p slowProvider) Send(ctx context.Context, m sms.Message) error {
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.arrived != nil {
		p.arrived <- time.Now()
	}
	return p.inner.Send(ctx, m)
}

// runOutbox delivers e's outbox through p in the background, as serve
// does, until the benchmark ends.
func runOutbox(b *testing.B, e *apptest.Env, p slowProvider) {
	e.App.Outbox.SMS = p
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.App.Outbox.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
}

// BenchmarkSendCodeProviderLatency measures the send-code request while the
// outbox worker delivers through a provider that answers instantly or after
// 300 ms. It reports the median request time (p50-ms); the difference
// between the two is what the provider adds to the request. Results are in
// docs/BENCHMARKS.md.
func BenchmarkSendCodeProviderLatency(b *testing.B) {
	for _, delay := range []time.Duration{0, 300 * time.Millisecond} {
		b.Run("provider="+delay.String(), func(b *testing.B) {
			e := apptest.Start(b, "sqlite", func(c *config.Config) {
				c.PhoneSendsPerIP, c.PhoneSendsPerNumber = 0, 0
				c.PhoneResendCooldown = time.Millisecond
			})
			runOutbox(b, e, slowProvider{delay: delay, inner: sms.NewRecorder()})

			c := e.NewClient()
			c.Register("lat@example.com", apptest.Password)
			form := url.Values{"phone_number": {"+14155550132"}}
			var took []time.Duration
			b.ResetTimer()
			for b.Loop() {
				e.Clock.Advance(time.Second)
				start := time.Now()
				res := c.Post("/account/manage/send-phone-verification-code", form)
				took = append(took, time.Since(start))
				if res.Status != http.StatusSeeOther {
					b.Fatalf("got %d: %s", res.Status, apptest.Excerpt(res.Body))
				}
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
