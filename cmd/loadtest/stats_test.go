package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", p: 50, want: 0},
		{name: "one sample", sorted: []time.Duration{7}, p: 99, want: 7},
		{name: "median of odd count", sorted: []time.Duration{1, 2, 3}, p: 50, want: 2},
		{name: "median of even count is the lower middle", sorted: []time.Duration{1, 2, 3, 4}, p: 50, want: 2},
		{name: "p50 of 1..100", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p99 of 1..100", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the maximum", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "p99 of ten is the maximum", sorted: hundred[:10], p: 99, want: 10 * time.Millisecond},
		{name: "tiny p is the minimum", sorted: hundred, p: 0.001, want: time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSummariseSortsACopy(t *testing.T) {
	samples := []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}
	got := summarise(samples)
	if want := (latency{N: 3, P50MS: 2, P99MS: 3, MaxMS: 3}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if samples[0] != 3*time.Millisecond {
		t.Errorf("got samples reordered: %v", samples)
	}
}

func TestReportCountsOnlyTheWindow(t *testing.T) {
	rec := newRecorder()
	from := time.Unix(1000, 0)
	to := from.Add(10 * time.Second)
	for _, at := range []time.Time{from.Add(-time.Second), from, to.Add(-time.Nanosecond), to} {
		rec.cycle(cycleSample{Done: at, Send: time.Millisecond, Code: 2 * time.Millisecond})
	}
	rec.cycle(cycleSample{Done: from.Add(time.Second), Code: time.Second, Hanging: true})
	rec.fail("send: status 500")
	rec.fail("send: status 500")
	rec.fail("code: timeout")

	var r report
	samples, errs := rec.window(from, to)
	r.build(samples, errs, to.Sub(from))
	if r.Cycles != 3 || r.CyclesPerSecond != 0.3 {
		t.Errorf("got %d cycles, %v/s, want 3, 0.3/s", r.Cycles, r.CyclesPerSecond)
	}
	if r.CodeNonHanging.N != 2 || r.Code.N != 3 || r.Code.MaxMS != 1000 {
		t.Errorf("got code latencies %+v (non-hanging %+v), want 3 samples up to 1000ms, 2 non-hanging", r.Code, r.CodeNonHanging)
	}
	if r.ErrorCount != 3 || r.Errors["send: status 500"] != 2 {
		t.Errorf("got %d errors %v, want 3 with 2 × send: status 500", r.ErrorCount, r.Errors)
	}
	if !r.failed() {
		t.Error("got a run with errors not failed")
	}
}
