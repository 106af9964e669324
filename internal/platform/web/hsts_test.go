package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

func TestSecurityHeadersHSTS(t *testing.T) {
	const year = 365 * 24 * time.Hour
	tests := []struct {
		name string
		hsts web.HSTS
		want string // "" for no header
	}{
		{name: "zero value: no header", hsts: web.HSTS{}},
		{name: "zero max-age: no header even with preload", hsts: web.HSTS{Preload: true}},
		{name: "one year", hsts: web.HSTS{MaxAge: year}, want: "max-age=31536000"},
		{name: "one hour", hsts: web.HSTS{MaxAge: time.Hour}, want: "max-age=3600"},
		{name: "preload", hsts: web.HSTS{MaxAge: 2 * year, Preload: true}, want: "max-age=63072000; includeSubDomains; preload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := web.SecurityHeaders(tt.hsts, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			got, present := rec.Header()["Strict-Transport-Security"]
			if tt.want == "" {
				if present {
					t.Errorf("Strict-Transport-Security: got %q, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("Strict-Transport-Security: got %q, want %q", got, tt.want)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("the other security headers are gone")
			}
		})
	}
}
