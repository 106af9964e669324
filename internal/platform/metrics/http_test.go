package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/metrics"
)

type ctxKey struct{}

// copying stands for the app's middleware (logging, sessions) that hand the
// next handler a copy of the request with a richer context.
func copying(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "x")))
	})
}

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("home")) })
	mux.HandleFunc("GET /admin/users/{id}/edit", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /account/manage/send-phone-verification-code", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
	})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	return mux
}

// recovering stands for web.Logging, which turns a panic into a 500.
func recovering(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func TestMiddlewareLabelsPatternAndStatus(t *testing.T) {
	tests := []struct {
		name, method, path string
		route, code        string
	}{
		{"root", http.MethodGet, "/", "GET /{$}", "200"},
		{"wildcard stays the pattern", http.MethodGet, "/admin/users/u_123/edit", "GET /admin/users/{id}/edit", "200"},
		{"handler status", http.MethodPost, "/account/manage/send-phone-verification-code", "POST /account/manage/send-phone-verification-code", "422"},
		{"no route", http.MethodGet, "/wp-login.php", "other", "404"},
		{"wrong method", http.MethodGet, "/account/manage/send-phone-verification-code", "other", "405"},
		{"panic recovered outside", http.MethodGet, "/boom", "GET /boom", "500"},
	}
	chains := []struct {
		name  string
		build func(m *metrics.Metrics) http.Handler
	}{
		// The app's shape: middleware copying the request between the two.
		{"route wrapper inside copying middleware", func(m *metrics.Metrics) http.Handler {
			return m.Middleware(recovering(copying(metrics.Route(testMux()))))
		}},
		// With nothing copying the request in between, Route is not needed.
		{"without the route wrapper", func(m *metrics.Metrics) http.Handler {
			return m.Middleware(recovering(testMux()))
		}},
	}
	for _, chain := range chains {
		t.Run(chain.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					m := newMetrics()
					h := chain.build(m)
					h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
					labels := map[string]string{"route": tt.route, "code": tt.code}
					if got := observations(t, m, "simplemodule_http_request_duration_seconds", labels); got != 1 {
						t.Errorf("got %d requests labelled %v, want 1", got, labels)
					}
				})
			}
		})
	}
}

func TestRouteAloneOnlyServes(t *testing.T) {
	rec := httptest.NewRecorder()
	metrics.Route(testMux()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "home" {
		t.Errorf("got %d %q, want 200 \"home\"", rec.Code, rec.Body.String())
	}
}

func TestMiddlewareKeepsResponseController(t *testing.T) {
	m := newMetrics()
	var flushErr error
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		flushErr = http.NewResponseController(w).Flush()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if flushErr != nil || !rec.Flushed {
		t.Errorf("got flush error %v (flushed %v), want the wrapped writer to flush", flushErr, rec.Flushed)
	}
}

// BenchmarkMiddleware measures what the middleware adds to every request:
// the app's shape (Middleware outside a copying middleware, Route around the
// mux) against the same chain without it.
func BenchmarkMiddleware(b *testing.B) {
	m := newMetrics()
	mux := testMux()
	cases := []struct {
		name string
		h    http.Handler
	}{
		{"without", copying(mux)},
		{"with", m.Middleware(copying(metrics.Route(mux)))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/admin/users/u_123/edit", nil)
			w := discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware rather than a recorder.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
