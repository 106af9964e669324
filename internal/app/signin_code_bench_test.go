package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// BenchmarkSignInCodeAtProvider measures what a person on the second step
// waits for after "Text me a code": from the request to the moment the
// code reaches the SMS provider (the outbox worker running as in serve),
// with a provider that answers at once or after 300 ms. It reports the
// request→provider median and p99 (arrive-p50-ms, arrive-p99-ms) and the
// request's own median (request-p50-ms). Results are in docs/BENCHMARKS.md.
func BenchmarkSignInCodeAtProvider(b *testing.B) {
	for _, delay := range []time.Duration{0, 300 * time.Millisecond} {
		b.Run("provider="+delay.String(), func(b *testing.B) {
			e := apptest.Start(b, "sqlite", func(c *config.Config) {
				c.PhoneSendsPerIP, c.PhoneSendsPerNumber = 0, 0
				c.PhoneResendCooldown = time.Millisecond
			})
			const addr, number = "lat@example.com", "+14155550132"
			owner := e.NewClient()
			owner.Register(addr, apptest.Password)
			owner.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {number}})
			owner.Post("/account/manage/confirm-phone-number", url.Values{"phone_number": {number}, "code": {e.LastCode(number)}})
			if res := owner.Post("/account/manage/two-factor/sms", url.Values{"password": {apptest.Password}}); res.Status != http.StatusOK {
				b.Fatalf("turn on SMS two-factor: got %d", res.Status)
			}

			p := slowProvider{delay: delay, inner: sms.NewRecorder(), arrived: make(chan time.Time, 1)}
			runOutbox(b, e, p)

			var c *apptest.Client
			var arrive, request []time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if i%100 == 0 { // the half-signed-in state lasts 5 minutes of the clock
					b.StopTimer()
					c = e.NewClient()
					if res := c.SubmitLogin(addr, apptest.Password); res.Status != http.StatusSeeOther {
						b.Fatalf("password step: got %d", res.Status)
					}
					b.StartTimer()
				}
				e.Clock.Advance(time.Second)
				start := time.Now()
				res := c.Post("/account/login/two-factor/send-sms", nil)
				request = append(request, time.Since(start))
				if res.Status != http.StatusSeeOther {
					b.Fatalf("send-sms: got %d: %s", res.Status, apptest.Excerpt(res.Body))
				}
				arrive = append(arrive, (<-p.arrived).Sub(start))
			}
			b.StopTimer()
			slices.Sort(arrive)
			slices.Sort(request)
			b.ReportMetric(float64(arrive[len(arrive)/2].Microseconds())/1000, "arrive-p50-ms")
			b.ReportMetric(float64(arrive[len(arrive)*99/100].Microseconds())/1000, "arrive-p99-ms")
			b.ReportMetric(float64(request[len(request)/2].Microseconds())/1000, "request-p50-ms")
		})
	}
}
