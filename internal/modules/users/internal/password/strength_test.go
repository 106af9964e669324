package password

import (
	"strings"
	"testing"
)

func TestEstimate(t *testing.T) {
	tests := []struct {
		name        string
		pw          string
		inputs      []string
		weak        bool
		wantWarning string
	}{
		{name: "most common", pw: "password", weak: true, wantWarning: "one of the most common passwords"},
		{name: "digits", pw: "12345678", weak: true, wantWarning: "one of the most common passwords"},
		{name: "common, other case", pw: "PassWord123", weak: true, wantWarning: "one of the most common passwords"},
		{name: "keyboard row", pw: "fghjkl;'", weak: true, wantWarning: "keyboard"},
		{name: "backwards", pw: "poiuytrewqlkj", weak: true, wantWarning: "backwards"},
		{name: "repeat", pw: "aaaaaaaaaa", weak: true, wantWarning: "Repeats"},
		{name: "sequence", pw: "abcdefghij", weak: true, wantWarning: "Sequences"},
		{name: "email address", pw: "ann.lee2026", inputs: []string{"ann.lee@example.com"}, weak: true, wantWarning: "email address"},
		{name: "look-alike of a common one", pw: "P@ssw0rd!", weak: true, wantWarning: "Look-alike"},
		{name: "name and year", pw: "jessica1990", weak: true, wantWarning: "Names"},
		{name: "several words", pw: "violet-otter-57-lantern"},
		{name: "passphrase", pw: "battery staple 2"},
		{name: "long and weak at the start", pw: strings.Repeat("a", 64) + "Zq7!vX2#mK9@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Estimate(tt.pw, tt.inputs...)
			if s.Weak() != tt.weak {
				t.Fatalf("Estimate(%q): got weak %v (score %d), want %v", tt.pw, s.Weak(), s.Score, tt.weak)
			}
			if !strings.Contains(s.Warning, tt.wantWarning) || (!tt.weak && s.Warning != "") {
				t.Errorf("Estimate(%q): got warning %q, want one with %q", tt.pw, s.Warning, tt.wantWarning)
			}
		})
	}
}

func TestCommonListLoaded(t *testing.T) {
	n := len(commonPasswords())
	if n < 3000 {
		t.Fatalf("got %d common passwords, want a few thousand", n)
	}
	for pw := range commonPasswords() {
		if len(pw) < 8 || strings.ToLower(pw) != pw {
			t.Fatalf("list entry %q: want lower case, at least 8 characters", pw)
		}
	}
}
