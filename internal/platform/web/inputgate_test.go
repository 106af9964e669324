package web

import (
	"bytes"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
)

// testKit is a Kit that renders the platform's pages and logs into buf.
func testKit(t *testing.T, buf *bytes.Buffer) *Kit {
	t.Helper()
	r, err := NewRenderer(Platform())
	if err != nil {
		t.Fatal(err)
	}
	return NewKit(r, slog.New(slog.NewTextHandler(buf, nil)), clock.System{}, []byte("secret"), false, nil)
}

func TestInputGate(t *testing.T) {
	multipartBody := func(name, value string) (string, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		w.WriteField(name, value)
		w.Close()
		return b.String(), w.FormDataContentType()
	}
	goodMultipart, goodMultipartType := multipartBody("display_name", "Ann")
	badMultipart, badMultipartType := multipartBody("display_name", "Ann\x00")
	const urlencoded = "application/x-www-form-urlencoded"

	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		wantStatus  int
		wantField   string // what the handler reads from display_name, when it runs
	}{
		{name: "clean form reaches the handler", method: "POST", target: "/p?x=1", contentType: urlencoded, body: "display_name=Ann+%C3%8Ele", wantStatus: 200, wantField: "Ann Île"},
		{name: "clean multipart reaches the handler", method: "POST", target: "/p", contentType: goodMultipartType, body: goodMultipart, wantStatus: 200, wantField: "Ann"},
		{name: "NUL in a form value", method: "POST", target: "/p", contentType: urlencoded, body: "display_name=Ann%00", wantStatus: 422},
		{name: "invalid UTF-8 in a form value", method: "POST", target: "/p", contentType: urlencoded, body: "display_name=Ann%ff", wantStatus: 422},
		{name: "invalid UTF-8 in a form name", method: "POST", target: "/p", contentType: urlencoded, body: "a%ff=1", wantStatus: 422},
		{name: "NUL in a multipart value", method: "POST", target: "/p", contentType: badMultipartType, body: badMultipart, wantStatus: 422},
		{name: "NUL in a query value", method: "GET", target: "/p?userId=a%00b", wantStatus: 400},
		{name: "invalid UTF-8 in a query value", method: "GET", target: "/p?q=%ff", wantStatus: 400},
		{name: "invalid UTF-8 in a path id", method: "GET", target: "/admin/users/%ff/edit", wantStatus: 400},
		{name: "NUL in a path", method: "GET", target: "/a%00b", wantStatus: 400},
		{name: "body over 64 KiB", method: "POST", target: "/p", contentType: urlencoded, body: "display_name=" + strings.Repeat("a", MaxFormBytes), wantStatus: 413},
		{name: "GET body is not read", method: "GET", target: "/p", contentType: urlencoded, body: "display_name=%00", wantStatus: 200},
		{name: "JSON body is not read", method: "POST", target: "/p", contentType: "application/json", body: "{\"a\":\"\\u0000\"}", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			k := testKit(t, &logs)
			var got string
			ran := false
			h := k.InputGate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				// What the Users handlers do: limit again, parse again.
				r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
				if err := r.ParseForm(); err != nil {
					t.Errorf("handler's ParseForm: %v", err)
				}
				got = r.PostFormValue("display_name")
			}))
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				if ran {
					t.Errorf("the handler ran, want the request stopped at the gate")
				}
				if !strings.Contains(rec.Body.String(), `data-testid="error-page"`) {
					t.Errorf("got %q, want the styled error page", rec.Body.String())
				}
			}
			if got != tt.wantField {
				t.Errorf("display_name in the handler: got %q, want %q", got, tt.wantField)
			}
			if tt.wantStatus == 400 || tt.wantStatus == 422 {
				l := logs.String()
				if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "input refused") {
					t.Errorf("log: got %q, want a warning", l)
				}
				if strings.Contains(l, "Ann") || strings.Contains(l, `\x00`) || strings.Contains(l, `\xff`) {
					t.Errorf("log: got %q, want no refused value", l)
				}
			}
		})
	}
}
