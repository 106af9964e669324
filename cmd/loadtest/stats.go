package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sync"
	"text/tabwriter"
	"time"
)

// cycleSample is one finished send → code → confirm cycle.
type cycleSample struct {
	Done    time.Time     // when the confirmation was answered
	Send    time.Duration // the send request, written to answered
	Code    time.Duration // just before the send request to the code reaching the receiver
	Confirm time.Duration // the confirm request, written to answered
	Total   time.Duration // the whole cycle
	Hanging bool          // the user's first delivery attempts hang
}

// recorder collects samples and errors from every virtual user. It is safe
// for concurrent use.
type recorder struct {
	mu     sync.Mutex
	cycles []cycleSample
	errors map[string]int
}

func newRecorder() *recorder {
	return &recorder{errors: make(map[string]int)}
}

// cycle records a successful cycle.
func (r *recorder) cycle(s cycleSample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cycles = append(r.cycles, s)
}

// fail counts an error of the given kind, like "send: status 500" or
// "code: timeout".
func (r *recorder) fail(kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[kind]++
}

// window returns the cycles finished within [from, to) and every error
// counted so far, warm-up included: an error is a failure whenever it
// happens.
func (r *recorder) window(from, to time.Time) ([]cycleSample, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var in []cycleSample
	for _, s := range r.cycles {
		if !s.Done.Before(from) && s.Done.Before(to) {
			in = append(in, s)
		}
	}
	return in, maps.Clone(r.errors)
}

// percentile returns the p-th percentile (0 < p ≤ 100) of samples by the
// nearest-rank method: the smallest sample with at least p % of the samples
// at or below it. samples must be sorted; an empty slice gives 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// latency summarises one measured duration.
type latency struct {
	N     int     `json:"n"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
}

// summarise computes a latency from unsorted samples.
func summarise(samples []time.Duration) latency {
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	l := latency{N: len(sorted), P50MS: ms(percentile(sorted, 50)), P99MS: ms(percentile(sorted, 99))}
	if len(sorted) > 0 {
		l.MaxMS = ms(sorted[len(sorted)-1])
	}
	return l
}

// ms is d in milliseconds, rounded to a microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// instanceStats is what was measured about one server process.
type instanceStats struct {
	PID       int     `json:"pid"`
	CPUMS     float64 `json:"cpu_ms"`               // user + system time over the measured window
	PeakRSSMB float64 `json:"peak_rss_mib"`         // VmHWM at the end, reset when the window starts: the window's peak
	RSSMB     float64 `json:"rss_mib"`              // VmRSS at the end of the window
	Error     string  `json:"error,omitempty"`      // why /proc could not be read
	LogLines  int     `json:"log_lines,omitempty"`  // lines the server wrote to stderr (warn and above)
	LastLog   string  `json:"last_log,omitempty"`   // the last of them
	ExitState string  `json:"exit_state,omitempty"` // set when the server stopped during the run
	Addr      string  `json:"addr"`                 // base URL
}

// report is the result of a run, printed as a table or as JSON.
type report struct {
	Command         string          `json:"command"`
	Database        string          `json:"database"` // sqlite, postgres or target
	Users           int             `json:"users"`
	HangingUsers    int             `json:"hanging_users"`
	ProviderLatency string          `json:"provider_latency"`
	WarmupS         float64         `json:"warmup_s"`
	WindowS         float64         `json:"window_s"`
	Cycles          int             `json:"cycles"`
	CyclesPerSecond float64         `json:"cycles_per_s"`
	Send            latency         `json:"send"`
	Code            latency         `json:"request_to_code"`
	CodeNonHanging  latency         `json:"request_to_code_non_hanging"`
	Confirm         latency         `json:"confirm"`
	Cycle           latency         `json:"cycle"`
	Errors          map[string]int  `json:"errors"`
	ErrorCount      int             `json:"error_count"`
	Duplicates      int             `json:"duplicates"`
	Hangs           int             `json:"hung_attempts"`
	Retries         int             `json:"retried_deliveries"`
	Unmatched       int             `json:"unmatched_deliveries"`
	CPUMSPerCycle   *float64        `json:"server_cpu_ms_per_cycle"` // null when not measured
	Instances       []instanceStats `json:"instances"`
}

// failed reports whether the run saw any error or duplicate delivery.
func (r *report) failed() bool { return r.ErrorCount > 0 || r.Duplicates > 0 }

// build fills the measured fields from the window's samples and errors.
func (r *report) build(samples []cycleSample, errs map[string]int, window time.Duration) {
	r.WindowS = window.Round(time.Millisecond).Seconds()
	r.Cycles = len(samples)
	if window > 0 {
		r.CyclesPerSecond = math.Round(float64(len(samples))/window.Seconds()*10) / 10
	}
	var send, code, codeOK, confirm, total []time.Duration
	for _, s := range samples {
		send = append(send, s.Send)
		code = append(code, s.Code)
		if !s.Hanging {
			codeOK = append(codeOK, s.Code)
		}
		confirm = append(confirm, s.Confirm)
		total = append(total, s.Total)
	}
	r.Send, r.Code, r.CodeNonHanging = summarise(send), summarise(code), summarise(codeOK)
	r.Confirm, r.Cycle = summarise(confirm), summarise(total)
	r.Errors = errs
	r.ErrorCount = 0
	for _, n := range errs {
		r.ErrorCount += n
	}
}

// writeJSON prints r as one JSON object on one line.
func (r *report) writeJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// writeTable prints r for people.
func (r *report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "command: %s\n", r.Command)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{name}, args...)...)
	}
	lat := func(name string, l latency) {
		row(name, "p50 %s\tp99 %s\tmax %s\t(n=%d)", fmtMS(l.P50MS), fmtMS(l.P99MS), fmtMS(l.MaxMS), l.N)
	}
	row("database", "%s, %d instance(s)", r.Database, len(r.Instances))
	row("users", "%d (%d hanging), provider latency %s", r.Users, r.HangingUsers, r.ProviderLatency)
	row("window", "%gs after %gs warm-up", r.WindowS, r.WarmupS)
	row("cycles", "%d\t%.1f/s", r.Cycles, r.CyclesPerSecond)
	lat("send", r.Send)
	lat("request → code", r.Code)
	lat("  non-hanging", r.CodeNonHanging)
	lat("confirm", r.Confirm)
	lat("whole cycle", r.Cycle)
	row("errors", "%d", r.ErrorCount)
	for _, kind := range slices.Sorted(maps.Keys(r.Errors)) {
		row("  "+kind, "%d", r.Errors[kind])
	}
	row("duplicates", "%d", r.Duplicates)
	row("hung attempts", "%d\t(%d delivered on a retry)", r.Hangs, r.Retries)
	row("unmatched", "%d\t(codes no user was waiting for: late, or cut off by the end)", r.Unmatched)
	if r.CPUMSPerCycle != nil {
		row("server CPU", "%.2f ms/cycle\t(utime+stime, CLK_TCK assumed 100)", *r.CPUMSPerCycle)
	} else {
		row("server CPU", "not measured")
	}
	for _, in := range r.Instances {
		name := fmt.Sprintf("pid %d", in.PID)
		switch {
		case in.PID == 0:
			row("server", "%s: pid unknown", in.Addr)
		case in.Error != "":
			row(name, "%s", in.Error)
		default:
			row(name, "peak RSS %.1f MiB\tRSS %.1f MiB\tCPU %.0f ms", in.PeakRSSMB, in.RSSMB, in.CPUMS)
		}
		if in.ExitState != "" {
			row("  exited", "%s", in.ExitState)
		}
		if in.LogLines > 0 {
			row("  log lines", "%d\tlast: %s", in.LogLines, in.LastLog)
		}
	}
	return tw.Flush()
}

// fmtMS prints milliseconds with a precision that suits their size.
func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}
