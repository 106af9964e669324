package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

func TestDevOutboxPage(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("dev@example.com", "password123")
		c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {"+14155550132"}})
		res := c.Get("/dev/outbox")
		if res.Status != http.StatusOK {
			t.Fatalf("GET /dev/outbox: got %d, want 200", res.Status)
		}
		for _, want := range []string{"14155550132", "verification code is", "dev@example.com", "queued"} {
			if !strings.Contains(res.Body, want) {
				t.Errorf("outbox page lacks %q", want)
			}
		}
		e.Drain()
		res = c.Get("/dev/outbox")
		if strings.Contains(res.Body, "verification code is") {
			t.Error("after delivery the page still shows the code")
		}
	})
}

func TestDevOutboxAbsentInProduction(t *testing.T) {
	e := apptest.Start(t, "sqlite", func(c *config.Config) { c.Env = "production" })
	if res := e.NewClient().Get("/dev/outbox"); res.Status != http.StatusNotFound {
		t.Errorf("GET /dev/outbox in production: got %d, want 404", res.Status)
	}
}
