package web

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"under a second rounds up", 300 * time.Millisecond, "1 second"},
		{"seconds", 60 * time.Second, "60 seconds"},
		{"minutes", 15 * time.Minute, "15 minutes"},
		{"minutes round up", 9*time.Minute + 1*time.Second, "10 minutes"},
		{"one hour", time.Hour, "1 hour"},
		{"hours", 24 * time.Hour, "24 hours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HumanDuration(tt.d); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
