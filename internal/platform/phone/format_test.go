package phone

import "testing"

func TestFormatInternational(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "US", in: "+12015550123", want: "+1 201-555-0123"},
		{name: "UK mobile", in: "+447400123456", want: "+44 7400 123456"},
		{name: "France", in: "+33612345678", want: "+33 6 12 34 56 78"},
		{name: "Germany", in: "+4915123456789", want: "+49 1512 3456789"},
		{name: "empty", in: "", want: ""},
		{name: "not E.164", in: "2015550123", want: "2015550123"},
		{name: "garbage after plus", in: "+abc", want: "+abc"},
		{name: "too long", in: "+1234567890123456789", want: "+1234567890123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatInternational(tt.in); got != tt.want {
				t.Errorf("FormatInternational(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
