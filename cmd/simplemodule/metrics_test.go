package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// startServe runs "serve" with --metrics-addr metricsAddr until the test
// ends and returns the public and metrics URLs read from its start-up log
// (metrics "" when off), and a stop function that shuts it down and returns
// its log and run's error.
func startServe(t *testing.T, metricsAddr string) (public, metrics string, stop func() (string, error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", metricsAddr, "--database-url", "sqlite:" + t.TempDir() + "/serve.db"}, noEnv, nil, io.Discard, pw)
		pw.Close()
		done <- err
	}()
	var logged bytes.Buffer
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		logged.WriteString(line + "\n")
		if strings.Contains(line, `msg="simplemodule listening"`) {
			public = field(line, "url")
			break
		}
	}
	if public == "" {
		cancel()
		t.Fatalf("serve stopped before listening: %v\n%s", <-done, logged.String())
	}
	// The metrics line, when on, comes right after the public one.
	if metricsAddr != "off" && sc.Scan() {
		line := sc.Text()
		logged.WriteString(line + "\n")
		if strings.Contains(line, `msg="metrics listening"`) {
			metrics = field(line, "url")
		}
	}
	rest := make(chan struct{})
	go func() {
		io.Copy(&logged, pr)
		close(rest)
	}()
	stopped := false
	stop = func() (string, error) {
		stopped = true
		cancel()
		err := <-done
		<-rest
		return logged.String(), err
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return public, metrics, stop
}

// field returns the value of key=value in a text log line.
func field(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeMetricsListener(t *testing.T) {
	public, metrics, stop := startServe(t, "127.0.0.1:0")
	if metrics == "" {
		t.Fatal("got no metrics listener in the start-up log, want one")
	}
	if code, _ := get(t, public+"/healthz"); code != http.StatusOK {
		t.Fatalf("GET /healthz: got %d, want 200", code)
	}
	code, body := get(t, metrics)
	if code != http.StatusOK {
		t.Fatalf("GET %s: got %d, want 200", metrics, code)
	}
	for _, want := range []string{
		`simplemodule_http_request_duration_seconds_count{code="200",route="GET /healthz"} 1`,
		`simplemodule_outbox_queue_depth{channel="sms"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("got metrics without %q, want it there", want)
		}
	}
	if code, _ := get(t, public+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the public listener: got %d, want 404", code)
	}
	if log, err := stop(); err != nil {
		t.Fatalf("serve: got error %v, want a clean shutdown\n%s", err, log)
	}
	if _, err := http.Get(metrics); err == nil {
		t.Error("metrics listener still answers after shutdown, want it closed with the server")
	}
}

func TestServeMetricsOff(t *testing.T) {
	_, metrics, stop := startServe(t, "off")
	log, err := stop()
	if err != nil {
		t.Fatalf("serve: got error %v, want a clean shutdown\n%s", err, log)
	}
	if metrics != "" || strings.Contains(log, "metrics listening") {
		t.Errorf("got a metrics listener with --metrics-addr off, want none\n%s", log)
	}
}

func TestBadMetricsAddrNamesIt(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		cmd  string
		env  map[string]string
		args []string
	}{
		{"not host:port", "serve", nil, []string{"--addr", "127.0.0.1:0", "--metrics-addr", "9090"}},
		{"same as the public address", "migrate", map[string]string{"SIMPLEMODULE_ADDR": "127.0.0.1:8080", "SIMPLEMODULE_METRICS_ADDR": "127.0.0.1:8080"}, nil},
		{"address in use", "serve", nil, []string{"--addr", "127.0.0.1:0", "--metrics-addr", busy.Addr().String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			args := append([]string{tt.cmd, "--database-url", "sqlite:" + t.TempDir() + "/bad.db"}, tt.args...)
			err := run(context.Background(), args, getenv, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "SIMPLEMODULE_METRICS_ADDR") {
				t.Errorf("got error %v, want one naming SIMPLEMODULE_METRICS_ADDR", err)
			}
		})
	}
}
