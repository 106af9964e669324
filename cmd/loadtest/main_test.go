package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "server binary", args: []string{"--server-bin", "/tmp/simplemodule"}},
		{name: "two instances on PostgreSQL", args: []string{"--server-bin", "x", "--postgres", "postgres://h/db", "--instances", "2"}},
		{name: "target", args: []string{"--target", "http://127.0.0.1:8080", "--webhook-secret", "0123456789abcdef"}},
		{name: "neither", args: nil, wantErr: "exactly one"},
		{name: "both", args: []string{"--server-bin", "x", "--target", "http://h"}, wantErr: "exactly one"},
		{name: "target without secret", args: []string{"--target", "http://h"}, wantErr: "--webhook-secret"},
		{name: "two instances on SQLite", args: []string{"--server-bin", "x", "--instances", "2"}, wantErr: "--postgres"},
		{name: "too many users", args: []string{"--server-bin", "x", "--users", "100000"}, wantErr: "--users"},
		{name: "hanging above 1", args: []string{"--server-bin", "x", "--hanging", "1.5"}, wantErr: "--hanging"},
		{name: "server-env without =", args: []string{"--server-bin", "x", "--server-env", "FOO"}, wantErr: "K=V"},
		{name: "stray argument", args: []string{"--server-bin", "x", "extra"}, wantErr: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if len(o.webhookSecret) < 16 {
					t.Errorf("got webhook secret %q, want at least 16 characters (the server's minimum)", o.webhookSecret)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"--server-bin", "/tmp/simplemodule", "--postgres=postgres://u:hunter2@127.0.0.1:5432/test?sslmode=disable", "--server-env", "A=b c"})
	want := `go run ./cmd/loadtest --server-bin /tmp/simplemodule '--postgres=postgres://u:xxxxx@127.0.0.1:5432/test?sslmode=disable' --server-env 'A=b c'`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		location string
		want     string
	}{
		{name: "success", status: 303, location: "/account/manage/phone", want: ""},
		{name: "invalid code", status: 422, want: "status 422"},
		{name: "throttled", status: 429, want: "status 429"},
		{name: "signed out", status: 303, location: "/account/login?return_url=%2Faccount%2Fmanage%2Fphone", want: "303 to /account/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outcome(tt.status, tt.location, pathAfterPhone); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEndToEnd runs the tool briefly against a real server binary: the one
// SIMPLEMODULE_LOADTEST_BIN names, or one built for the test.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run skipped in -short mode")
	}
	bin := os.Getenv("SIMPLEMODULE_LOADTEST_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "simplemodule")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/simplemodule-go/simplemodule/cmd/simplemodule").CombinedOutput()
		if err != nil {
			t.Fatalf("build the server: %v\n%s", err, out)
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--server-bin", bin, "--users", "2", "--duration", "2s", "--json"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("decode %q: %v", stdout.String(), err)
	}
	if r.Cycles == 0 || r.ErrorCount != 0 || r.Duplicates != 0 {
		t.Errorf("got %d cycles, %d errors %v, %d duplicates; want cycles and no errors", r.Cycles, r.ErrorCount, r.Errors, r.Duplicates)
	}
	if r.CPUMSPerCycle == nil || len(r.Instances) != 1 || r.Instances[0].PeakRSSMB <= 0 {
		t.Errorf("got CPU %v and instances %+v, want both measured", r.CPUMSPerCycle, r.Instances)
	}
}

// serverState waits for running servers once in all, not once each, and
// reports only the stopped ones with their output.
func TestServerState(t *testing.T) {
	running := func() *instance { return &instance{exited: make(chan struct{}), log: &logTail{}} }
	crashed := running()
	crashed.baseURL, crashed.pid, crashed.waitErr = "http://127.0.0.1:1", 42, errors.New("exit status 2")
	crashed.log.Write([]byte("panic: boom\ngoroutine 1 [running]:\n"))
	close(crashed.exited)

	start := time.Now()
	got := serverState([]*instance{running(), running(), crashed, running()}, 20*time.Millisecond)
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("took %s for three running servers, want about the 20ms wait", elapsed)
	}
	for _, want := range []string{"pid 42", "exit status 2", "panic: boom", "goroutine 1 [running]:"} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to mention %q", got, want)
		}
	}
	if got := serverState([]*instance{running(), {baseURL: "http://target"}}, time.Millisecond); got != "" {
		t.Errorf("got %q for running servers, want nothing", got)
	}
}
