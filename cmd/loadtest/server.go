package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	// The project's PostgreSQL driver (already a dependency), used only to
	// create and drop the run's schema.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// serverEnv is the environment every server instance gets, on top of the
// caller's environment without its SIMPLEMODULE_* variables and before the
// --server-env overrides. Caps are off and the resend cooldown is as short
// as the server accepts (it refuses 0), so each virtual user can loop.
var serverEnv = []string{
	"SIMPLEMODULE_SMS_PROVIDER=webhook",
	"SIMPLEMODULE_EMAIL_PROVIDER=console",
	"SIMPLEMODULE_REGISTRATIONS_PER_IP=0",
	"SIMPLEMODULE_SIGNIN_FAILURES_PER_IP=0",
	"SIMPLEMODULE_PHONE_SENDS_PER_NUMBER=0",
	"SIMPLEMODULE_PHONE_SENDS_PER_IP=0",
	"SIMPLEMODULE_PHONE_RESEND_COOLDOWN=1ms",
}

// instance is one server process the tool started, or a server it targets.
type instance struct {
	baseURL     string
	metricsAddr string // where a started server serves GET /metrics
	pid         int    // 0 when unknown (a target without --server-pid)
	cmd         *exec.Cmd
	log         *logTail
	exited      chan struct{} // closed when a started process ends
	waitErr     error         // set before exited is closed
}

// startInstance runs bin serve in dir on a free loopback port, with env
// (see childEnv), then a free metrics port of its own (the default, 9090,
// would clash between instances), then extra. It does not wait for the
// server to be ready; see waitHealthy.
func startInstance(bin, dir string, env, extra []string) (*instance, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	in := &instance{baseURL: "http://" + addr, metricsAddr: metricsAddr, log: &logTail{}, exited: make(chan struct{})}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	// A process group of its own: Ctrl-C in the terminal reaches only the
	// tool, which then reports and stops the servers itself, instead of
	// the servers shutting down under load.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// For a name given twice, the last value wins; the address must be ours.
	cmd.Env = slices.Concat(env, []string{"SIMPLEMODULE_METRICS_ADDR=" + metricsAddr}, extra, []string{"SIMPLEMODULE_ADDR=" + addr})
	cmd.Stdout = in.log
	cmd.Stderr = in.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	in.cmd, in.pid = cmd, cmd.Process.Pid
	go func() {
		in.waitErr = cmd.Wait()
		close(in.exited)
	}()
	return in, nil
}

// freeAddr returns a loopback address with a port free right now. Another
// process could take it before the server binds it; start-up then fails
// with a clear error rather than measuring the wrong thing.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy polls GET /healthz until it answers 200, the process exits,
// or timeout passes.
func (in *instance) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.baseURL+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-in.exited:
			return fmt.Errorf("server %s exited during start-up (%v): %s", in.baseURL, in.waitErr, in.log.last())
		case <-ctx.Done():
			return fmt.Errorf("server %s not healthy after %s: %s", in.baseURL, timeout, in.log.last())
		case <-tick.C:
		}
	}
}

// exitState describes how a started process ended, or "" while it runs.
func (in *instance) exitState() string {
	if in.exited == nil {
		return ""
	}
	select {
	case <-in.exited:
		if in.waitErr != nil {
			return in.waitErr.Error()
		}
		return "exit status 0"
	default:
		return ""
	}
}

// stop ends a started process: SIGTERM for a graceful shutdown, SIGKILL
// if it is still running after grace.
func (in *instance) stop(grace time.Duration) {
	if in.cmd == nil {
		return
	}
	select {
	case <-in.exited:
		return
	default:
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(grace):
		in.cmd.Process.Kill()
		<-in.exited
	}
}

// logTail is the server's output: counted, with the last lines kept so a
// crash (a panic's stack) can be shown. The server logs at warn level, so
// every line is worth a look.
type logTail struct {
	mu      sync.Mutex
	lines   int
	partial []byte   // the current, unfinished line
	recent  []string // the last tailLines complete lines, oldest first
}

// tailLines is how many lines logTail keeps.
const tailLines = 60

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range p {
		if c != '\n' {
			if len(l.partial) < 4096 {
				l.partial = append(l.partial, c)
			}
			continue
		}
		l.lines++
		if len(l.recent) == tailLines {
			l.recent = slices.Delete(l.recent, 0, 1)
		}
		l.recent = append(l.recent, string(l.partial))
		l.partial = l.partial[:0]
	}
	return len(p), nil
}

// count returns the number of complete lines written so far.
func (l *logTail) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines
}

// last returns the last complete line, or the unfinished one if any.
func (l *logTail) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		return string(l.partial)
	}
	if len(l.recent) == 0 {
		return ""
	}
	return l.recent[len(l.recent)-1]
}

// tail returns the kept lines, each indented.
func (l *logTail) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, line := range append(slices.Clone(l.recent), string(l.partial)) {
		if line != "" {
			b.WriteString("    " + line + "\n")
		}
	}
	return b.String()
}

// childEnv is the environment for server processes: ours without
// SIMPLEMODULE_* (so a developer's shell settings do not leak into the
// benchmark), then serverEnv, then settings.
func childEnv(settings []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIMPLEMODULE_") {
			env = append(env, kv)
		}
	}
	return slices.Concat(env, serverEnv, settings)
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freshSchema creates an empty schema on the PostgreSQL server at base and
// returns a URL selecting it through search_path (as dbtest does), and a
// function that drops it with everything in it.
func freshSchema(ctx context.Context, base string) (schemaURL string, drop func(), err error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("--postgres must be a postgres:// URL")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	schema := "loadtest_" + randomHex(6)
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			fmt.Fprintf(os.Stderr, "loadtest: drop schema %s: %v\n", schema, err)
		}
		db.Close()
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// redactURL hides the password of a URL, for echoing commands.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	return strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":xxxxx@", 1)
}

// errNoProc means CPU and memory cannot be measured for an instance.
var errNoProc = errors.New("pid unknown: pass --server-pid to measure CPU and memory")
