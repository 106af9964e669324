package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

func TestStaticServesFilesButNoListings(t *testing.T) {
	embedded := Static()
	nested := staticFiles(fstest.MapFS{
		"app.css":             {Data: []byte("body{}")},
		"img/logo.svg":        {Data: []byte("<svg/>")},
		"img/icons/close.svg": {Data: []byte("<svg/>")},
		"fonts/index.html":    {Data: []byte("<p>index</p>")},
	})
	tests := []struct {
		name    string
		handler http.Handler
		path    string
		want    int
	}{
		{name: "embedded root", handler: embedded, path: "/static/", want: http.StatusNotFound},
		{name: "embedded file", handler: embedded, path: "/static/app.css", want: http.StatusOK},
		{name: "embedded missing file", handler: embedded, path: "/static/nope.css", want: http.StatusNotFound},
		{name: "root", handler: nested, path: "/static/", want: http.StatusNotFound},
		{name: "subdirectory", handler: nested, path: "/static/img/", want: http.StatusNotFound},
		{name: "subdirectory without slash", handler: nested, path: "/static/img", want: http.StatusNotFound},
		{name: "nested subdirectory", handler: nested, path: "/static/img/icons/", want: http.StatusNotFound},
		{name: "directory with an index.html", handler: nested, path: "/static/fonts/", want: http.StatusNotFound},
		{name: "file in a subdirectory", handler: nested, path: "/static/img/icons/close.svg", want: http.StatusOK},
		{name: "file at the root", handler: nested, path: "/static/app.css", want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.want {
				t.Fatalf("GET %s: got %d, want %d (body %.80q)", tt.path, rec.Code, tt.want, rec.Body.String())
			}
			if tt.want == http.StatusOK {
				if got := rec.Header().Get("Cache-Control"); got != "public, max-age=3600" {
					t.Errorf("Cache-Control: got %q, want public, max-age=3600", got)
				}
				if rec.Body.Len() == 0 {
					t.Error("file served with an empty body")
				}
			}
		})
	}
}
