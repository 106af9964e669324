package metrics_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/simplemodule-go/simplemodule/internal/platform/metrics"
)

func newMetrics() *metrics.Metrics {
	return metrics.New(slog.New(slog.DiscardHandler))
}

// find returns the series of family name whose labels include want, or nil.
func find(t *testing.T, m *metrics.Metrics, name string, want map[string]string) *dto.Metric {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue series
				}
			}
			return s
		}
	}
	return nil
}

// counter returns the value of a counter series, 0 when it does not exist yet.
func counter(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	return find(t, m, name, labels).GetCounter().GetValue()
}

// observations returns how many values a histogram series holds.
func observations(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) uint64 {
	t.Helper()
	return find(t, m, name, labels).GetHistogram().GetSampleCount()
}

func scrape(t *testing.T, m *metrics.Metrics) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func TestHandlerServesOwnRegistryWithRuntimeAndProcess(t *testing.T) {
	m := newMetrics()
	m.SignIn(metrics.SignInSucceeded)
	code, body := scrape(t, m)
	if code != http.StatusOK {
		t.Fatalf("got status %d, want 200", code)
	}
	for _, want := range []string{`simplemodule_signins_total{outcome="succeeded"} 1`, "go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(body, want) {
			t.Errorf("got a scrape without %q, want it there", want)
		}
	}
	// Two instances (as in parallel tests) must not share or clash.
	other := newMetrics()
	if got := counter(t, other, "simplemodule_signins_total", map[string]string{"outcome": "succeeded"}); got != 0 {
		t.Errorf("got %v sign-ins in a fresh instance, want 0", got)
	}
}

func TestUsersHook(t *testing.T) {
	m := newMetrics()
	var hook metrics.Users = m
	hook.SignIn(metrics.SignInSucceeded)
	hook.SignIn(metrics.SignInBadCredentials)
	hook.SignIn(metrics.SignInBadCredentials)
	hook.SignIn(metrics.SignInOutcome("user@example.com")) // a mistake must not become a label
	hook.PhoneCodeSent("US")
	hook.PhoneCodeSent("GB")
	hook.PhoneCodeSent("+44 7700 900123")
	hook.PhoneConfirmation(true)
	hook.PhoneConfirmation(false)
	hook.PhoneConfirmation(false)
	tests := []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"succeeded sign-in", "simplemodule_signins_total", map[string]string{"outcome": "succeeded"}, 1},
		{"bad credentials", "simplemodule_signins_total", map[string]string{"outcome": "bad_credentials"}, 2},
		{"unknown outcome", "simplemodule_signins_total", map[string]string{"outcome": "other"}, 1},
		{"code to US", "simplemodule_phone_codes_sent_total", map[string]string{"country": "US"}, 1},
		{"code to GB", "simplemodule_phone_codes_sent_total", map[string]string{"country": "GB"}, 1},
		{"malformed country", "simplemodule_phone_codes_sent_total", map[string]string{"country": "other"}, 1},
		{"confirmed", "simplemodule_phone_confirmations_total", map[string]string{"outcome": "confirmed"}, 1},
		{"failed", "simplemodule_phone_confirmations_total", map[string]string{"outcome": "failed"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := counter(t, m, tt.metric, tt.labels); got != tt.want {
				t.Errorf("got %s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	var nop metrics.Users = metrics.NopUsers{}
	nop.SignIn(metrics.SignInLocked) // compiles and does nothing
}
