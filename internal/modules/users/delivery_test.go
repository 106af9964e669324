package users_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/messaging"
)

// deliveryStatus returns the data-status of the phone page's delivery line.
func deliveryStatus(body string) string {
	i := strings.Index(body, `data-testid="delivery-status" data-status="`)
	if i < 0 {
		return ""
	}
	rest := body[i+len(`data-testid="delivery-status" data-status="`):]
	return rest[:strings.Index(rest, `"`)]
}

func TestPhonePageShowsDeliveryState(t *testing.T) {
	tests := []struct {
		name        string
		providerErr error
		wantStatus  string
		wantText    string
	}{
		{"delivered", nil, "sent", "Text message sent."},
		{"number cannot receive SMS", messaging.PermanentFailure(messaging.FailureUnreachable, "P-102", errors.New("not a mobile number")), "failed", "cannot receive text messages"},
		{"number invalid at the provider", messaging.PermanentFailure(messaging.FailureInvalidRecipient, "P-101", errors.New("invalid 'To' number")), "failed", "cannot receive text messages"},
		{"recipient blocked us", messaging.PermanentFailure(messaging.FailureBlocked, "P-103", errors.New("unsubscribed")), "failed", "cannot receive text messages"},
		{"provider refuses for another reason", messaging.Permanent("P-104", errors.New("carrier violation")), "failed", "could not deliver the text message"},
	}
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := apptest.Start(t, db, nil)
				e.SMS.Recorder.Err = tt.providerErr
				c := e.NewClient()
				c.Register("dee@example.com", password)
				if res := c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {"+14155550132"}}); res.Status != http.StatusSeeOther {
					t.Fatalf("send: got %d", res.Status)
				}
				if got := deliveryStatus(c.Get("/account/manage/phone").Body); got != "queued" {
					t.Errorf("before the worker ran: got %q, want queued", got)
				}
				e.Drain()
				res := c.Get("/account/manage/phone")
				if got := deliveryStatus(res.Body); got != tt.wantStatus {
					t.Errorf("after delivery: got %q, want %q", got, tt.wantStatus)
				}
				if !strings.Contains(res.Body, tt.wantText) {
					t.Errorf("page lacks %q", tt.wantText)
				}
			})
		}
	})
}

// Web requests only queue messages: with no worker running, the SMS is in
// the outbox, encrypted, and nothing has been handed to the provider yet.
func TestSendCodeOnlyQueues(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("pia@example.com", password)
		if res := c.Post("/account/manage/send-phone-verification-code", url.Values{"phone_number": {"+14155550132"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("send: got %d", res.Status)
		}
		if n := e.SMS.Recorder.Count(); n != 0 {
			t.Fatalf("SMS handed to the provider during the request: %d, want 0", n)
		}
		var body, status string
		if err := e.App.DB.QueryRowContext(context.Background(), `SELECT body, status FROM outbox WHERE channel = 'sms'`).Scan(&body, &status); err != nil {
			t.Fatal(err)
		}
		if status != "queued" || !strings.HasPrefix(body, "enc:") {
			t.Errorf("queued SMS: got status %q body %.20q…, want queued and encrypted", status, body)
		}
		code := e.LastCode("+14155550132") // delivers the outbox
		if strings.Contains(body, code) {
			t.Errorf("the stored body holds the code")
		}
		// In development the delivered body stays for /dev/outbox, still
		// encrypted, until the code expires (production wipes it at once:
		// the dev and outbox packages test that).
		e.App.DB.QueryRowContext(context.Background(), `SELECT body FROM outbox WHERE channel = 'sms'`).Scan(&body)
		if strings.Contains(body, code) || (body != "" && !strings.HasPrefix(body, "enc:")) {
			t.Errorf("after delivery the SMS body is readable at rest: %.20q…", body)
		}
		e.Clock.Advance(e.Config.PhoneCodeTTL + time.Second)
		e.Drain()
		e.App.DB.QueryRowContext(context.Background(), `SELECT body FROM outbox WHERE channel = 'sms'`).Scan(&body)
		if body != "" {
			t.Errorf("after the code's expiry the SMS body is still stored: %.20q…", body)
		}
	})
}
