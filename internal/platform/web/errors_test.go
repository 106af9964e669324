package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestUnmatched(t *testing.T) {
	var logs bytes.Buffer
	k := testKit(t, &logs)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok " + r.PathValue("id"))) })
	reg := Registry{Module: "m", Routes: []Route{
		{Pattern: "GET /things/{id}/edit", Pages: []string{"m/edit"}, Handler: ok},
		{Pattern: "POST /things/{id}/lock", Pages: []string{"m/edit"}, Handler: ok},
		{Pattern: "GET /form", Pages: []string{"m/form"}, Handler: ok},
		{Pattern: "POST /form", Pages: []string{"m/form"}, Handler: ok},
		{Pattern: "POST /logout", Handler: ok, Back: "/"},
		{Pattern: "POST /orphan", Pages: []string{"m/nowhere"}, Handler: ok},
	}}
	mux := http.NewServeMux()
	Mount(mux, func(h http.Handler) http.Handler { return h }, reg)
	h := k.Unmatched(mux, reg)

	tests := []struct {
		name         string
		method       string
		target       string
		wantStatus   int
		wantLocation string
		wantAllow    string
		wantBody     string
	}{
		{name: "a route still answers with its path values", method: "GET", target: "/things/7/edit", wantStatus: 200, wantBody: "ok 7"},
		{name: "no route", method: "GET", target: "/nothing", wantStatus: 404, wantBody: `data-testid="error-page"`},
		{name: "wrong method", method: "DELETE", target: "/form", wantStatus: 405, wantAllow: "GET, HEAD, POST", wantBody: `data-testid="error-page"`},
		{name: "GET of a POST-only route goes to the page rendering its first page", method: "GET", target: "/things/a%20b/lock", wantStatus: 303, wantLocation: "/things/a%20b/edit"},
		{name: "HEAD of a POST-only route too", method: "HEAD", target: "/things/7/lock", wantStatus: 303, wantLocation: "/things/7/edit"},
		{name: "Back wins", method: "GET", target: "/logout", wantStatus: 303, wantLocation: "/"},
		{name: "no page to go back to", method: "GET", target: "/orphan", wantStatus: 405, wantAllow: "POST"},
		{name: "PUT of a POST-only route", method: "PUT", target: "/logout", wantStatus: 405, wantAllow: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location: got %q, want %q", got, tt.wantLocation)
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow: got %q, want %q", got, tt.wantAllow)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body: got %q, want it to contain %q", rec.Body.String(), tt.wantBody)
			}
		})
	}
}

func TestServerErrorPage(t *testing.T) {
	var logs bytes.Buffer
	k := testKit(t, &logs)
	h := Logging(k.Log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.ServerError(w, r, errors.New("pq: secret internal detail"))
	}), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status: got %d, want 500", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, `data-testid="error-page"`) || !strings.Contains(body, `href="/"`) {
		t.Errorf("got %q, want the styled page with a link home", body)
	}
	if strings.Contains(body, "secret internal detail") {
		t.Errorf("the page shows the error, want it only in the log")
	}
	l := logs.String()
	i := strings.Index(body, `data-testid="request-id">`)
	if i < 0 {
		t.Fatalf("no request id on the page: %s", body)
	}
	id := body[i+len(`data-testid="request-id">`):][:16]
	if !strings.Contains(l, "request_id="+id) || !strings.Contains(l, "secret internal detail") {
		t.Errorf("log %q: want the error with request_id=%s", l, id)
	}
}

func TestErrorPageViewer(t *testing.T) {
	var logs bytes.Buffer
	k := testKit(t, &logs)
	tests := []struct {
		name   string
		viewer Viewer
		want   bool
	}{
		{name: "anonymous", viewer: Viewer{}, want: false},
		{name: "signed in", viewer: Viewer{SignedIn: true, Email: "ann@example.com"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/x", nil)
			req = req.WithContext(WithViewer(context.Background(), tt.viewer))
			rec := httptest.NewRecorder()
			k.Error(rec, req, http.StatusForbidden, "")
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status: got %d, want 403", rec.Code)
			}
			if got := strings.Contains(rec.Body.String(), `href="/account/manage" data-testid="error-manage"`); got != tt.want {
				t.Errorf("link to /account/manage: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlatformRegistryValid(t *testing.T) {
	if problems := Validate(Platform()); len(problems) != 0 {
		t.Errorf("got problems %v, want none", problems)
	}
}

// A panic and a cross-origin refusal answer with the styled page too.
func TestPanicAndCrossOriginPages(t *testing.T) {
	var logs bytes.Buffer
	k := testKit(t, &logs)
	panicking := Logging(k.Log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
		func(w http.ResponseWriter, r *http.Request) {
			k.Error(w, r, http.StatusInternalServerError, "Something went wrong.")
		})
	rec := httptest.NewRecorder()
	panicking.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `data-testid="error-page"`) {
		t.Errorf("panic: got %d %q, want 500 with the styled page", rec.Code, rec.Body.String())
	}
	if i := strings.Index(rec.Body.String(), `data-testid="request-id">`); i < 0 {
		t.Errorf("panic page: no request id shown")
	} else if id := rec.Body.String()[i+len(`data-testid="request-id">`):][:16]; !strings.Contains(logs.String(), "request_id="+id) {
		t.Errorf("panic page: request id %q not in the log %q", id, logs.String())
	}
	refusing := CrossOrigin(http.NotFoundHandler(), func(w http.ResponseWriter, r *http.Request) { k.Error(w, r, http.StatusForbidden, "Refused.") })
	req := httptest.NewRequest("POST", "/x", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	refusing.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), `data-testid="error-page"`) {
		t.Errorf("cross-origin: got %d %q, want 403 with the styled page", rec.Code, rec.Body.String())
	}
}
