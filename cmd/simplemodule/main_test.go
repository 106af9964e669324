package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

func noEnv(string) string { return "" }

func TestValidatePagesRealRegistry(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"validate-pages"}, noEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("validate-pages: got error %v (output %q), want exit 0", err, out.String())
	}
	if !strings.Contains(out.String(), "page registry OK") {
		t.Errorf("got output %q, want it to say the registry is OK", out.String())
	}
}

func TestValidatePagesProblems(t *testing.T) {
	h := http.NotFoundHandler()
	fsys := fstest.MapFS{
		"pages/a.html":      {Data: []byte(`{{define "content"}}a{{end}}`)},
		"pages/unused.html": {Data: []byte(`{{define "content"}}b{{end}}`)},
	}
	tests := []struct {
		name string
		reg  web.Registry
		want string
	}{
		{"route renders an unregistered page", web.Registry{Module: "m", FS: fstest.MapFS{"pages/a.html": fsys["pages/a.html"]},
			Pages:  []web.Page{{Name: "m/a", Template: "pages/a.html"}},
			Routes: []web.Route{{Pattern: "GET /a", Pages: []string{"m/a", "m/ghost"}, Handler: h}}}, `unregistered page "m/ghost"`},
		{"template no page uses", web.Registry{Module: "m", FS: fsys,
			Pages:  []web.Page{{Name: "m/a", Template: "pages/a.html"}},
			Routes: []web.Route{{Pattern: "GET /a", Pages: []string{"m/a"}, Handler: h}}}, "pages/unused.html is not used"},
		{"registered page without template", web.Registry{Module: "m", FS: fstest.MapFS{},
			Pages:  []web.Page{{Name: "m/a", Template: "pages/a.html"}},
			Routes: []web.Route{{Pattern: "GET /a", Pages: []string{"m/a"}, Handler: h}}}, "has no template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := validatePages(&out, tt.reg)
			if err == nil {
				t.Fatalf("got exit 0, want exit 1 (an error)")
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("got output %q, want it to contain %q", out.String(), tt.want)
			}
		})
	}
}

func TestBadSettingNamesIt(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad duration", map[string]string{"SIMPLEMODULE_PHONE_CODE_TTL": "soon"}, nil, "SIMPLEMODULE_PHONE_CODE_TTL"},
		{"bad variable on a command without the flag", map[string]string{"SIMPLEMODULE_PHONE_LOCKOUT": "5"}, nil, "SIMPLEMODULE_PHONE_LOCKOUT"},
		{"bad database url", map[string]string{"SIMPLEMODULE_DATABASE_URL": "mysql://x"}, nil, "SIMPLEMODULE_DATABASE_URL"},
		{"bad flag value", nil, []string{"--database-url", "mysql://x"}, "SIMPLEMODULE_DATABASE_URL"},
		{"console refused in production", map[string]string{"SIMPLEMODULE_ENV": "production", "SIMPLEMODULE_BASE_URL": "https://id.example"}, nil, "SIMPLEMODULE_SMS_PROVIDER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			getenv := func(k string) string { return tt.env[k] }
			err := run(context.Background(), append([]string{"migrate"}, tt.args...), getenv, nil, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestUserCreate(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/u.db"
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"user", "create", "--email", "root@example.com", "--password", "violet otter lantern 57", "--admin", "--database-url", db}, noEnv, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("user create: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "root@example.com (Admin)") {
		t.Errorf("got %q, want it to report the admin user", out.String())
	}
	err = run(context.Background(), []string{"user", "create", "--email", "ROOT@example.com", "--password", "violet otter lantern 57", "--database-url", db}, noEnv, nil, &out, &errOut)
	if err == nil {
		t.Error("second user with the same email: got success, want an error")
	}
}
