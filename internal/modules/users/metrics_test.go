package users_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// scrape returns the application's metrics in the text format.
func scrape(t *testing.T, e *apptest.Env) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.App.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// The use cases count sign-ins by outcome, codes sent by country and code
// checks by outcome.
func TestUseCasesFeedMetrics(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := phoneSignUp(e, "ann@example.com")
		other := e.NewClient()
		other.SubmitLogin("ann@example.com", "wrong password")
		other.SubmitLogin("nobody@example.com", phonePassword)
		other.Login("ann@example.com", phonePassword)

		phoneWantStatus(t, "send", phoneSend(c, phoneNumberA), 303)
		phoneWantStatus(t, "wrong code", phoneConfirm(c, phoneNumberA, "000000"), 422)
		phoneWantStatus(t, "right code", phoneConfirm(c, phoneNumberA, e.LastCode(phoneNumberA)), 303)

		got := scrape(t, e)
		for _, want := range []string{
			`simplemodule_signins_total{outcome="bad_credentials"} 2`,
			`simplemodule_signins_total{outcome="succeeded"} 2`, // the sign-in after sign-up, then other's
			`simplemodule_phone_codes_sent_total{country="US"} 1`,
			`simplemodule_phone_confirmations_total{outcome="failed"} 1`,
			`simplemodule_phone_confirmations_total{outcome="confirmed"} 1`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}
