package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/database/dbtest"
)

// result is what one run of the command line gave.
type result struct {
	stdout, stderr string
	err            error
}

// runCLI runs the command line with args, no environment and stdin.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, noEnv, strings.NewReader(stdin), &out, &errOut)
	return result{out.String(), errOut.String(), err}
}

func TestHelpListsCommands(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"-help"}, {"user", "--help"}, {"help", "user"}, {"help", "help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, "", args...)
			if r.err != nil {
				t.Fatalf("got error %v, want exit 0", r.err)
			}
			for _, c := range commands() {
				if !strings.Contains(r.stdout, "  "+c.name+" ") || !strings.Contains(r.stdout, c.summary) {
					t.Errorf("got help %q, want a line for %q", r.stdout, c.name)
				}
			}
			if n := strings.Count(r.stdout, "\n"); n > 20 {
				t.Errorf("got %d lines of help, want the command list only (at most 20)", n)
			}
			if strings.Contains(r.stdout, "smtp") || strings.Contains(r.stdout, "twilio") {
				t.Errorf("got help %q, want no server settings in the command list", r.stdout)
			}
		})
	}
}

func TestCommandHelpShowsOwnFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string // flags listed
		notWant []string // flags that belong to other commands
	}{
		{name: "migrate", args: []string{"migrate", "--help"}, want: []string{"-database-url", "-log-level"}, notWant: []string{"-smtp-host", "-twilio-from", "-addr ", "-email"}},
		{name: "help migrate", args: []string{"help", "migrate"}, want: []string{"-database-url", "-log-level"}, notWant: []string{"-smtp-host", "-twilio-from"}},
		{name: "user create", args: []string{"user", "create", "--help"}, want: []string{"-email", "-password-stdin", "-password ", "-admin", "-database-url"}, notWant: []string{"-smtp-host", "-twilio-from", "-addr ", "-revoke"}},
		{name: "user set-admin", args: []string{"user", "set-admin", "-h"}, want: []string{"-email", "-revoke", "-database-url"}, notWant: []string{"-smtp-host", "-password", "  -admin"}},
		{name: "help user set-admin", args: []string{"help", "user", "set-admin"}, want: []string{"-email", "-revoke"}, notWant: []string{"-smtp-host"}},
		{name: "serve", args: []string{"serve", "--help"}, want: []string{"-addr", "-smtp-host", "-database-url", "-hsts-preload"}, notWant: []string{"-email ", "-revoke", "-smtp-password", "-secret"}},
		{name: "validate-pages", args: []string{"validate-pages", "--help"}, notWant: []string{"-database-url", "-smtp-host"}},
		{name: "version", args: []string{"version", "--help"}, notWant: []string{"-database-url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.err != nil {
				t.Fatalf("got error %v, want exit 0", r.err)
			}
			if !strings.HasPrefix(r.stdout, "usage: simplemodule ") {
				t.Errorf("got %q, want the command's usage on stdout", r.stdout)
			}
			for _, f := range tt.want {
				if !strings.Contains(r.stdout, f) {
					t.Errorf("got help %q, want it to list %s", r.stdout, f)
				}
			}
			for _, f := range tt.notWant {
				if strings.Contains(r.stdout, f) {
					t.Errorf("got help %q, want no %s", r.stdout, f)
				}
			}
		})
	}
}

func TestCommandLineMistakes(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/m.db"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown command", args: []string{"frobnicate"}, want: `unknown command "frobnicate"`},
		{name: "user without a command", args: []string{"user"}, want: "create or set-admin"},
		{name: "a server flag on migrate", args: []string{"migrate", "--smtp-host", "mail"}, want: "flag provided but not defined: -smtp-host"},
		{name: "a value after a yes/no flag", args: []string{"user", "create", "--email", "a@example.com", "--admin", "true", "--database-url", db}, want: `unexpected argument "true": --admin is a yes/no flag`},
		{name: "a value after a yes/no setting", args: []string{"serve", "--require-confirmed-email", "false"}, want: "--require-confirmed-email=false"},
		{name: "a stray argument", args: []string{"migrate", "now"}, want: `unexpected argument "now" (see simplemodule migrate --help)`},
		{name: "set-admin without email", args: []string{"user", "set-admin", "--database-url", db}, want: "needs --email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", r.err, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "", "version")
	if r.err != nil {
		t.Fatalf("got error %v, want exit 0", r.err)
	}
	if !strings.HasPrefix(r.stdout, "simplemodule ") || !strings.Contains(r.stdout, "\ngo:") {
		t.Errorf("got %q, want the version and the Go version", r.stdout)
	}

	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/simplemodule-go/simplemodule", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := versionText(bi)
	for _, want := range []string{"simplemodule v1.4.0\n", "revision: 0123456789abcdef\n", "2026-12-01T10:00:00Z", "modified: true\n", "go1.26.0"} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to contain %q", got, want)
		}
	}
	if got := versionText(&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}}); !strings.Contains(got, "revision: unknown") {
		t.Errorf("without VCS information: got %q, want the revision said to be unknown", got)
	}
}

const testPassword = "violet otter lantern 57"

// signIn reports whether email and password sign in on the database at dbURL.
func signIn(t *testing.T, dbURL, email, password string) bool {
	t.Helper()
	cfg, _, err := config.Load("test", []string{"--database-url", dbURL}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(srv.URL+"/account/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusSeeOther
}

func TestUserCreatePasswordStdin(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := dbtest.URL(t, engine)
		r := runCLI(t, testPassword+"\r\nsecond line ignored\n", "user", "create", "--email", "stdin@example.com", "--password-stdin", "--database-url", db)
		if r.err != nil {
			t.Fatalf("user create --password-stdin: %v (%s)", r.err, r.stderr)
		}
		if !strings.Contains(r.stdout, "stdin@example.com") {
			t.Errorf("got %q, want it to report the user", r.stdout)
		}
		if !signIn(t, db, "stdin@example.com", testPassword) {
			t.Error("signing in with the password given on stdin: got refused, want signed in")
		}
		if signIn(t, db, "stdin@example.com", testPassword+"\r") {
			t.Error("signing in with the line ending kept: got signed in, want refused")
		}

		tests := []struct {
			name  string
			stdin string
			args  []string
			want  string
		}{
			{name: "both password flags", stdin: testPassword + "\n", args: []string{"--password", testPassword, "--password-stdin"}, want: "not both"},
			{name: "empty stdin", stdin: "", args: []string{"--password-stdin"}, want: "held no password"},
			{name: "no password at all", args: nil, want: "--password-stdin"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := append([]string{"user", "create", "--email", "other@example.com", "--database-url", db}, tt.args...)
				r := runCLI(t, tt.stdin, args...)
				if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
					t.Errorf("got error %v, want one containing %q", r.err, tt.want)
				}
			})
		}
	})
}

// admins lists the emails of the administrators in the database at dbURL.
func admins(t *testing.T, dbURL string) []string {
	t.Helper()
	db, err := database.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT u.email FROM users u JOIN user_roles r ON r.user_id = u.id WHERE r.role = 'Admin' ORDER BY u.email`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestUserSetAdmin(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, engine string) {
		db := dbtest.URL(t, engine)
		for _, args := range [][]string{
			{"--email", "root@example.com", "--admin"},
			{"--email", "web@example.com"},
		} {
			args = append([]string{"user", "create", "--password-stdin", "--database-url", db}, args...)
			if r := runCLI(t, testPassword+"\n", args...); r.err != nil {
				t.Fatalf("%q: %v (%s)", args, r.err, r.stderr)
			}
		}
		steps := []struct {
			name       string
			args       []string
			wantOut    string
			wantErr    string
			wantAdmins []string
		}{
			{name: "grant", args: []string{"--email", "web@example.com"}, wantOut: "web@example.com is now an administrator", wantAdmins: []string{"root@example.com", "web@example.com"}},
			{name: "grant again", args: []string{"--email", "WEB@example.com"}, wantOut: "already an administrator", wantAdmins: []string{"root@example.com", "web@example.com"}},
			{name: "revoke", args: []string{"--email", "root@example.com", "--revoke"}, wantOut: "root@example.com is no longer an administrator", wantAdmins: []string{"web@example.com"}},
			{name: "revoke a non-admin", args: []string{"--email", "root@example.com", "--revoke"}, wantOut: "not an administrator", wantAdmins: []string{"web@example.com"}},
			{name: "last admin refused", args: []string{"--email", "web@example.com", "--revoke"}, wantErr: "last administrator", wantAdmins: []string{"web@example.com"}},
			{name: "unknown email", args: []string{"--email", "nobody@example.com"}, wantErr: "no account has the email nobody@example.com", wantAdmins: []string{"web@example.com"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				r := runCLI(t, "", append([]string{"user", "set-admin", "--database-url", db}, st.args...)...)
				switch {
				case st.wantErr != "" && (r.err == nil || !strings.Contains(r.err.Error(), st.wantErr)):
					t.Errorf("got error %v, want one containing %q", r.err, st.wantErr)
				case st.wantErr == "" && r.err != nil:
					t.Errorf("got error %v (%s), want exit 0", r.err, r.stderr)
				case !strings.Contains(r.stdout, st.wantOut):
					t.Errorf("got output %q, want %q", r.stdout, st.wantOut)
				}
				if got := admins(t, db); !slices.Equal(got, st.wantAdmins) {
					t.Errorf("got admins %q, want %q", got, st.wantAdmins)
				}
			})
		}
	})
}

func TestUnknownEnvWarned(t *testing.T) {
	var w bytes.Buffer
	warnUnknownEnv(&w, []string{"PATH=/bin", "SIMPLEMODULE_ADDR=:8080", "SIMPLEMODULE_TEST_POSTGRES_URL=x", "SIMPLEMODULE_SMTP_HOTS=mail"})
	got := w.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "SIMPLEMODULE_SMTP_HOTS") || !strings.Contains(got, "SIMPLEMODULE_SMTP_HOST?") {
		t.Errorf("got %q, want one line naming SIMPLEMODULE_SMTP_HOTS and suggesting SIMPLEMODULE_SMTP_HOST", got)
	}
}
