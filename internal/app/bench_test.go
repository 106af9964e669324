package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// Results are recorded in docs/BENCHMARKS.md. Run with:
//
//	go test -run=^$ -bench=. -benchmem ./internal/app/
//
// (set SIMPLEMODULE_TEST_POSTGRES_URL to include PostgreSQL).
func benchDBs(b *testing.B, fn func(b *testing.B, db string)) {
	for _, db := range apptest.Databases {
		b.Run(db, func(b *testing.B) {
			if db == "postgres" {
				apptest.RequirePostgres(b)
			}
			fn(b, db)
		})
	}
}

func unthrottled(c *config.Config) {
	c.PhoneSendsPerIP, c.PhoneSendsPerNumber = 0, 0
	c.PhoneResendCooldown = time.Millisecond
}

// BenchmarkManagePage measures an authenticated page view: session lookup,
// stamp check and rendering.
func BenchmarkManagePage(b *testing.B) {
	benchDBs(b, func(b *testing.B, db string) {
		e := apptest.Start(b, db, nil)
		c := e.NewClient()
		c.Register("bench@example.com", apptest.Password)
		b.ResetTimer()
		for b.Loop() {
			if res := c.Get("/account/manage"); res.Status != http.StatusOK {
				b.Fatalf("got %d", res.Status)
			}
		}
	})
}

// BenchmarkSendPhoneCode measures the send-code request end to end.
func BenchmarkSendPhoneCode(b *testing.B) {
	benchDBs(b, func(b *testing.B, db string) {
		e := apptest.Start(b, db, unthrottled)
		c := e.NewClient()
		c.Register("bench@example.com", apptest.Password)
		form := url.Values{"phone_number": {"+14155550132"}}
		b.ResetTimer()
		for b.Loop() {
			e.Clock.Advance(time.Second)
			if res := c.Post("/account/manage/send-phone-verification-code", form); res.Status != http.StatusSeeOther {
				b.Fatalf("got %d: %s", res.Status, apptest.Excerpt(res.Body))
			}
		}
	})
}

// BenchmarkConfirmPhoneCode measures send + confirm of a code, the whole
// verification of one number.
func BenchmarkConfirmPhoneCode(b *testing.B) {
	benchDBs(b, func(b *testing.B, db string) {
		e := apptest.Start(b, db, unthrottled)
		c := e.NewClient()
		c.Register("bench@example.com", apptest.Password)
		i := 0
		b.ResetTimer()
		for b.Loop() {
			i++
			number := fmt.Sprintf("+1415555%04d", i%10000)
			e.Clock.Advance(time.Second)
			if res := c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {number}}); res.Status != http.StatusSeeOther {
				b.Fatalf("send: got %d: %s", res.Status, apptest.Excerpt(res.Body))
			}
			res := c.Post("/account/manage/confirm-phone-number", url.Values{"phone_number": {number}, "code": {e.LastCode(number)}})
			if res.Status != http.StatusSeeOther {
				b.Fatalf("confirm: got %d: %s", res.Status, apptest.Excerpt(res.Body))
			}
		}
	})
}
