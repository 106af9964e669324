// Command loadtest measures the phone verification flow end to end: virtual
// users, each signed in with its own cookie jar and phone numbers, loop
// "send code → read it at the SMS provider → confirm" against real server
// processes, while the tool plays the SMS provider behind the server's
// webhook sender.
//
// It starts the server binary itself (--server-bin, built beforehand with
// go build -o /tmp/simplemodule ./cmd/simplemodule) on a fresh SQLite
// database or a fresh PostgreSQL schema, or targets running servers
// (--target) configured to post to its receiver. It prints cycles per
// second, latency percentiles, errors, duplicate deliveries, server CPU per
// cycle and peak memory, and exits non-zero if anything went wrong:
//
//	go run ./cmd/loadtest --server-bin /tmp/simplemodule --users 32 --duration 30s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C ends the run (the table is printed and the servers
	// stopped); a second one kills the tool as usual.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	serverBin       string
	target          string
	serverPIDs      string
	postgres        string
	instances       int
	users           int
	duration        time.Duration
	warmup          time.Duration
	providerLatency time.Duration
	hanging         float64
	receiverAddr    string
	webhookSecret   string
	serverEnv       []string
	logLevel        string
	timing          timing
	json            bool
}

// parseFlags reads args into options and checks them.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.serverBin, "server-bin", "", "server binary to start (build it first: go build -o /tmp/simplemodule ./cmd/simplemodule)")
	fs.StringVar(&o.target, "target", "", "base URL(s) of running servers, comma-separated, instead of --server-bin")
	fs.StringVar(&o.serverPIDs, "server-pid", "", "with --target: PID(s) of the servers, comma-separated, to measure CPU and memory")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL: run on a fresh schema there instead of a fresh SQLite file")
	fs.IntVar(&o.instances, "instances", 1, "server processes to start (more than 1 needs --postgres)")
	fs.IntVar(&o.users, "users", 32, "virtual users")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measured window")
	fs.DurationVar(&o.warmup, "warmup", 0, "cycles before the measured window, not counted")
	fs.DurationVar(&o.providerLatency, "provider-latency", 0, "how long the SMS provider takes to answer")
	fs.Float64Var(&o.hanging, "hanging", 0, "share of users (0–1) whose messages' first delivery attempt hangs until the server gives up")
	fs.StringVar(&o.receiverAddr, "receiver-addr", "127.0.0.1:0", "address of the SMS provider the tool plays (fix it with --target)")
	fs.StringVar(&o.webhookSecret, "webhook-secret", "", "SIMPLEMODULE_SMS_WEBHOOK_SECRET to verify (default: random; with --target, the server's)")
	fs.Func("server-env", "extra K=V for started servers (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return errors.New("want K=V")
		}
		o.serverEnv = append(o.serverEnv, v)
		return nil
	})
	fs.StringVar(&o.logLevel, "log-level", "warn", "SIMPLEMODULE_LOG_LEVEL of started servers")
	fs.DurationVar(&o.timing.request, "request-timeout", 30*time.Second, "timeout of one HTTP request")
	fs.DurationVar(&o.timing.code, "code-timeout", 60*time.Second, "how long a user waits for its code at the provider")
	fs.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./cmd/loadtest (--server-bin PATH | --target URL --webhook-secret S) [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.timing.pause = 200 * time.Millisecond
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case (o.serverBin == "") == (o.target == ""):
		return o, errors.New("give exactly one of --server-bin and --target")
	case o.target != "" && (o.postgres != "" || o.instances != 1 || len(o.serverEnv) > 0):
		return o, errors.New("--postgres, --instances and --server-env only apply with --server-bin")
	case o.target != "" && o.webhookSecret == "":
		return o, errors.New("--target needs --webhook-secret, the server's SIMPLEMODULE_SMS_WEBHOOK_SECRET")
	case o.serverPIDs != "" && o.target == "":
		return o, errors.New("--server-pid only applies with --target")
	case o.instances < 1:
		return o, errors.New("--instances must be at least 1")
	case o.instances > 1 && o.postgres == "":
		return o, errors.New("--instances above 1 needs --postgres (instances share one database)")
	case o.users < 1 || o.users > maxUsers:
		return o, fmt.Errorf("--users must be from 1 to %d", maxUsers)
	case o.duration <= 0 || o.warmup < 0:
		return o, errors.New("--duration must be positive and --warmup not negative")
	case o.hanging < 0 || o.hanging > 1 || math.IsNaN(o.hanging):
		return o, errors.New("--hanging must be from 0 to 1")
	case o.providerLatency < 0 || o.timing.request <= 0 || o.timing.code <= 0:
		return o, errors.New("latencies and timeouts must be positive")
	}
	if o.webhookSecret == "" {
		o.webhookSecret = randomHex(24)
	}
	return o, nil
}

// signUpParallelism bounds concurrent sign-ups: each hashes a password with
// argon2id, which is heavy on CPU and memory.
const signUpParallelism = 4

// drainTime is how long the receiver keeps listening after the run, so late
// duplicate deliveries are still counted.
const drainTime = time.Second

// run is main without the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "loadtest: "+format+"\n", a...) }

	rec := newRecorder()
	rc := newReceiver(o.webhookSecret, o.providerLatency, rec.fail)
	receiverURL, err := rc.listen(o.receiverAddr)
	if err != nil {
		return fmt.Errorf("start the SMS receiver: %w", err)
	}
	defer rc.close()

	r := &report{
		Command:         commandLine(args),
		Database:        "sqlite",
		Users:           o.users,
		ProviderLatency: o.providerLatency.String(),
		WarmupS:         o.warmup.Seconds(),
	}
	var instances []*instance
	if o.target != "" {
		r.Database = "target"
		instances, err = targets(o.target, o.serverPIDs)
		if err != nil {
			return err
		}
		progress("SMS receiver at %s: the target must run with SIMPLEMODULE_SMS_PROVIDER=webhook, SIMPLEMODULE_SMS_WEBHOOK_URL=%s, caps off and a short SIMPLEMODULE_PHONE_RESEND_COOLDOWN", receiverURL, receiverURL)
	} else {
		if o.postgres != "" {
			r.Database = "postgres"
		}
		var cleanup func()
		instances, cleanup, err = startServers(ctx, o, receiverURL, progress)
		defer cleanup()
		if err != nil {
			return err
		}
	}
	var pids []string
	for _, in := range instances {
		if in.pid != 0 {
			pids = append(pids, strconv.Itoa(in.pid))
		}
	}
	if len(pids) > 0 {
		progress("server PIDs: %s", strings.Join(pids, " "))
	}

	users, err := signUpAll(ctx, o, instances, rc, progress)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.hanging {
			r.HangingUsers++
		}
	}

	progress("running %d users for %s warm-up + %s", len(users), o.warmup, o.duration)
	from, to, cpu := measure(ctx, o, users, rc, rec, instances)
	if ctx.Err() != nil {
		progress("interrupted: reporting the %s measured", to.Sub(from).Round(time.Millisecond))
	}
	select {
	case <-time.After(drainTime):
	case <-ctx.Done():
	}
	if state := serverState(instances, time.Second); state != "" {
		progress("a server stopped during the run:%s", state)
	}

	samples, errs := rec.window(from, to)
	r.build(samples, errs, to.Sub(from))
	counts := rc.snapshot()
	r.Duplicates, r.Hangs, r.Retries, r.Unmatched = counts.Duplicates, counts.Hangs, counts.Retries, counts.Unmatched
	r.Instances, r.CPUMSPerCycle = instanceReport(instances, cpu, r.Cycles)

	if o.json {
		err = r.writeJSON(stdout)
	} else {
		err = r.writeTable(stdout)
	}
	if err != nil {
		return err
	}
	if r.failed() {
		return fmt.Errorf("%d errors, %d duplicate deliveries", r.ErrorCount, r.Duplicates)
	}
	return ctx.Err()
}

// targets describes running servers from --target and --server-pid.
func targets(urls, pids string) ([]*instance, error) {
	var instances []*instance
	for u := range strings.SplitSeq(urls, ",") {
		instances = append(instances, &instance{baseURL: strings.TrimSuffix(strings.TrimSpace(u), "/")})
	}
	if pids == "" {
		return instances, nil
	}
	list := strings.Split(pids, ",")
	if len(list) != len(instances) {
		return nil, fmt.Errorf("--server-pid lists %d PIDs for %d targets", len(list), len(instances))
	}
	for i, p := range list {
		pid, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("--server-pid: %q is not a PID", p)
		}
		instances[i].pid = pid
	}
	return instances, nil
}

// startServers prepares the database and starts o.instances servers posting
// to receiverURL, waiting until each is healthy. cleanup stops them and
// removes the database; it is never nil.
func startServers(ctx context.Context, o options, receiverURL string, progress func(string, ...any)) (instances []*instance, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	dir, err := os.MkdirTemp("", "simplemodule-loadtest-")
	if err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	dbURL := "sqlite:" + dir + "/loadtest.db"
	if o.postgres != "" {
		u, drop, err := freshSchema(ctx, o.postgres)
		if err != nil {
			return nil, cleanup, err
		}
		undo = append(undo, drop)
		dbURL = u
	}
	env := childEnv([]string{
		"SIMPLEMODULE_DATABASE_URL=" + dbURL,
		"SIMPLEMODULE_SECRET=" + randomHex(24), // one for all instances
		"SIMPLEMODULE_SMS_WEBHOOK_URL=" + receiverURL,
		"SIMPLEMODULE_SMS_WEBHOOK_SECRET=" + o.webhookSecret,
		"SIMPLEMODULE_LOG_LEVEL=" + o.logLevel,
	})
	for range o.instances {
		in, err := startInstance(o.serverBin, dir, env, o.serverEnv)
		if err != nil {
			return instances, cleanup, err
		}
		instances = append(instances, in)
		undo = append(undo, func() { in.stop(10 * time.Second) })
	}
	for _, in := range instances {
		if err := in.waitHealthy(ctx, time.Minute); err != nil {
			return instances, cleanup, err
		}
		progress("server %s is up (pid %d, metrics at http://%s/metrics, CPU profile: go tool pprof http://%s/debug/pprof/profile?seconds=10)", in.baseURL, in.pid, in.metricsAddr, in.metricsAddr)
	}
	return instances, cleanup, nil
}

// signUpAll creates the virtual users, spread round-robin over instances,
// marks the hanging share, and signs every one up (outside the measured
// window).
func signUpAll(ctx context.Context, o options, instances []*instance, rc *receiver, progress func(string, ...any)) ([]*virtualUser, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = o.users // one kept-alive connection per user
	runID := randomHex(4)
	hanging := int(math.Round(o.hanging * float64(o.users)))
	users := make([]*virtualUser, o.users)
	for i := range users {
		users[i] = newVirtualUser(i, runID, instances[i%len(instances)].baseURL, transport)
		if i < hanging {
			users[i].hanging = true
			for _, n := range users[i].numbers {
				rc.hang(n)
			}
		}
	}
	progress("signing up %d users", len(users))
	start := time.Now()
	errs := make(chan error, len(users))
	sem := make(chan struct{}, signUpParallelism)
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- u.signUp(ctx, o.timing.request)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%w%s", err, serverState(instances, time.Second))
		}
	}
	progress("signed up in %s", time.Since(start).Round(time.Millisecond))
	return users, nil
}

// serverState describes started servers that stopped, with the end of
// their output, to explain an error; "" when every server runs. A process
// that just crashed may not have been reaped yet, so it waits up to wait in
// all.
func serverState(instances []*instance, wait time.Duration) string {
	var b strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, in := range instances {
		if in.exited != nil {
			select {
			case <-in.exited:
			case <-ctx.Done():
			}
		}
		if state := in.exitState(); state != "" {
			fmt.Fprintf(&b, "\n  server %s (pid %d) exited (%s); its last output:\n%s", in.baseURL, in.pid, state, in.log.tail())
		}
	}
	return b.String()
}

// measure runs every user's loop for the warm-up and the window, and
// returns the window and the CPU time each instance used within it (nil
// entries where it could not be read). An interrupt ends the window early.
func measure(ctx context.Context, o options, users []*virtualUser, rc *receiver, rec *recorder, instances []*instance) (from, to time.Time, cpu []cpuWindow) {
	loopCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	for _, u := range users {
		wg.Go(func() { u.loop(loopCtx, rc, rec, o.timing) })
	}
	sleepUntil(ctx, start.Add(o.warmup))
	from = time.Now()
	cpu = make([]cpuWindow, len(instances))
	for i, in := range instances {
		cpu[i].start, cpu[i].err = instanceCPU(in)
		resetPeakRSS(in)
	}
	sleepUntil(ctx, from.Add(o.duration))
	for i, in := range instances {
		if cpu[i].err == nil {
			var end time.Duration
			end, cpu[i].err = instanceCPU(in)
			cpu[i].used = end - cpu[i].start
		}
	}
	to = time.Now()
	stop()
	wg.Wait()
	return from, to, cpu
}

// resetPeakRSS sets the instance's VmHWM back to its current RSS (Linux
// clear_refs "5"), so the peak reported is the measured window's, not the
// sign-up's (argon2id holds 19 MiB per hash). Where the kernel refuses, the
// peak stays the whole life's.
func resetPeakRSS(in *instance) {
	if in.pid != 0 {
		os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", in.pid), []byte("5"), 0)
	}
}

// cpuWindow is one instance's CPU time over the measured window.
type cpuWindow struct {
	start, used time.Duration
	err         error
}

// instanceCPU reads an instance's CPU time so far.
func instanceCPU(in *instance) (time.Duration, error) {
	if in.pid == 0 {
		return 0, errNoProc
	}
	return cpuTime(in.pid)
}

// instanceReport reads each instance's memory and combines it with its CPU
// time; the CPU per cycle is nil unless every instance was measured.
func instanceReport(instances []*instance, cpu []cpuWindow, cycles int) ([]instanceStats, *float64) {
	stats := make([]instanceStats, len(instances))
	var total time.Duration
	measured := cycles > 0
	for i, in := range instances {
		s := instanceStats{PID: in.pid, Addr: in.baseURL, ExitState: in.exitState()}
		if in.log != nil {
			s.LogLines, s.LastLog = in.log.count(), in.log.last()
		}
		if err := cpu[i].err; err != nil {
			s.Error, measured = err.Error(), false
		} else {
			s.CPUMS = ms(cpu[i].used)
			total += cpu[i].used
			if m, err := readMemory(in.pid); err != nil {
				s.Error = err.Error()
			} else {
				s.PeakRSSMB, s.RSSMB = mib(m.Peak), mib(m.RSS)
			}
		}
		stats[i] = s
	}
	if !measured {
		return stats, nil
	}
	perCycle := math.Round(ms(total)/float64(cycles)*1000) / 1000
	return stats, &perCycle
}

// mib is bytes in MiB, to one decimal.
func mib(bytes int64) float64 { return math.Round(float64(bytes)/(1<<20)*10) / 10 }

// sleepUntil waits for t or for ctx to end.
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// commandLine echoes the command for a results table, quoting what a shell
// would split and hiding URL passwords.
func commandLine(args []string) string {
	parts := []string{"go run ./cmd/loadtest"}
	for _, a := range args {
		if name, value, ok := strings.Cut(a, "="); ok && strings.Contains(value, "://") {
			a = name + "=" + redactURL(value)
		} else if strings.Contains(a, "://") {
			a = redactURL(a)
		}
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote returns s as one POSIX shell word.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
