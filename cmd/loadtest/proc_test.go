package main

import (
	"os"
	"runtime"
	"testing"
)

func TestParseStatTicks(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    uint64
		wantErr bool
	}{
		{name: "plain", stat: "17742 (cat) R 17740 17740 14466 0 -1 4194304 99 0 0 0 7 3 0 0 20 0 1 0 49431 3133440 379",
			want: 10},
		{name: "command with spaces and parentheses", stat: "42 (my (odd) prog) S 1 42 42 0 -1 4194560 1 0 0 0 1234 567 0 0 20 0 9 0 100 0 0",
			want: 1801},
		{name: "no command", stat: "42 S 1", wantErr: true},
		{name: "too short", stat: "42 (x) S 1 2 3", wantErr: true},
		{name: "not a number", stat: "42 (x) S 1 42 42 0 -1 4194560 1 0 0 0 abc 567 0 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatTicks(tt.stat)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %d, %v, want %d (error: %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\tsimplemodule\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   40000 kB\nThreads:\t9\n"
	got, err := parseStatusMemory(status)
	if err != nil {
		t.Fatal(err)
	}
	if want := (memory{RSS: 40000 << 10, Peak: 81234 << 10}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseStatusMemory("Name:\tkthread\n"); err == nil {
		t.Error("got no error for a status without memory lines")
	}
	if _, err := parseStatusMemory("VmHWM:\t12 MB\nVmRSS:\t1 kB\n"); err == nil {
		t.Error("got no error for a unit other than kB")
	}
}

// The parsers must agree with the running kernel's format.
func TestReadOwnProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Errorf("cpuTime: %v", err)
	}
	m, err := readMemory(os.Getpid())
	if err != nil {
		t.Fatalf("readMemory: %v", err)
	}
	if m.Peak < m.RSS || m.RSS <= 0 {
		t.Errorf("got %+v, want 0 < RSS ≤ peak", m)
	}
}
