package app_test

import (
	"net/http"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

func TestSmokeRegisterAndPhone(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("ann@example.com", apptest.Password)
		res := c.Get("/account/manage")
		if res.Status != http.StatusOK {
			t.Fatalf("got %d, want 200", res.Status)
		}
		if got, _ := apptest.TestID(res.Body, "email-status"); got != "Unverified" {
			t.Errorf("email badge: got %q, want Unverified", got)
		}
		res = c.Post("/account/manage/send-phone-verification-code", map[string][]string{"phone_number": {"(415) 555-0132"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("send: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
		}
		code := e.LastCode("+14155550132")
		res = c.Post("/account/manage/confirm-phone-number", map[string][]string{"phone_number": {"+14155550132"}, "code": {code}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("confirm: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
		}
		res = c.Get("/account/manage/phone")
		if got, _ := apptest.TestID(res.Body, "phone-status"); got != "Verified" {
			t.Errorf("phone badge: got %q, want Verified", got)
		}
	})
}
