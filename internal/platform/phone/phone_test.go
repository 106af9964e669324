package phone

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewParser(t *testing.T) {
	tests := []struct {
		name        string
		region      string
		allowed     []string
		wantRegion  string
		wantAllowed []string
		wantErr     string
	}{
		{name: "region and allow list", region: "US", allowed: []string{"US", "CA"}, wantRegion: "US", wantAllowed: []string{"US", "CA"}},
		{name: "lower case is accepted", region: "gb", allowed: []string{"gb"}, wantRegion: "GB", wantAllowed: []string{"GB"}},
		{name: "no default region", region: "", wantRegion: ""},
		{name: "unknown default region", region: "XX", wantErr: `unknown region "XX"`},
		{name: "unknown allowed region", region: "US", allowed: []string{"US", "XX"}, wantErr: `unknown region "XX"`},
		{name: "calling code is not a region", region: "1", wantErr: `unknown region "1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewParser(tt.region, tt.allowed)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v, want nil", err)
			}
			if p.DefaultRegion != tt.wantRegion {
				t.Errorf("DefaultRegion: got %q, want %q", p.DefaultRegion, tt.wantRegion)
			}
			if !slices.Equal(p.AllowedCountries, tt.wantAllowed) {
				t.Errorf("AllowedCountries: got %q, want %q", p.AllowedCountries, tt.wantAllowed)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		region  string
		allowed []string
		input   string
		want    string
		wantErr error
	}{
		{name: "US national format", region: "US", input: "(415) 555-0123", want: "+14155550123"},
		{name: "US international with spaces around", region: "US", input: "  +1 415 555 0123 ", want: "+14155550123"},
		{name: "UK mobile international", region: "US", input: "+44 7400 123456", want: "+447400123456"},
		{name: "UK mobile national", region: "GB", input: "07400 123456", want: "+447400123456"},
		{name: "French mobile national", region: "FR", input: "06 12 34 56 78", want: "+33612345678"},
		{name: "international without default region", region: "", input: "+33 6 12 34 56 78", want: "+33612345678"},
		{name: "national without default region", region: "", input: "06 12 34 56 78", wantErr: ErrInvalid},
		{name: "empty", region: "US", input: "", wantErr: ErrEmpty},
		{name: "only spaces", region: "US", input: "   ", wantErr: ErrEmpty},
		{name: "too short", region: "US", input: "123", wantErr: ErrInvalid},
		{name: "letters", region: "US", input: "call me maybe", wantErr: ErrInvalid},
		{name: "vanity number", region: "US", input: "+1 800 FLOWERS", wantErr: ErrInvalid},
		{name: "extension", region: "US", input: "+1 415 555 0123 ext. 12", wantErr: ErrInvalid},
		// Ofcom's drama range parses but is not an assigned number.
		{name: "UK drama number", region: "GB", input: "+44 7700 900123", wantErr: ErrInvalid},
		{name: "longer than 64 characters", region: "US", input: "+1 415 555 0123" + strings.Repeat(" ", 50), want: "+14155550123"},
		{name: "over 64 characters inside", region: "US", input: "+1" + strings.Repeat("-", 60) + "4155550123", wantErr: ErrInvalid},
		{name: "valid in German metadata but over 15 digits", region: "DE", input: "+49 201 00000000000", wantErr: ErrInvalid},
		{name: "German fixed line", region: "DE", input: "0201 12345678", want: "+4920112345678"},
		{name: "US premium rate", region: "US", input: "+1 900 234 5678", wantErr: ErrPremiumRate},
		{name: "UK 0845 is premium rate in the metadata", region: "GB", input: "0845 464 0000", wantErr: ErrPremiumRate},
		{name: "French shared cost", region: "FR", input: "08 84 01 23 45", wantErr: ErrPremiumRate},
		{name: "German shared cost", region: "DE", input: "+49 180 12345", wantErr: ErrPremiumRate},
		{name: "allowed country", region: "US", allowed: []string{"US", "CA"}, input: "+1 613 555 0123", want: "+16135550123"},
		{name: "country outside allow list", region: "US", allowed: []string{"US", "CA"}, input: "+44 7400 123456", wantErr: ErrCountryNotAllowed},
		{name: "same calling code, other country", region: "US", allowed: []string{"US"}, input: "+1 613 555 0123", wantErr: ErrCountryNotAllowed},
		{name: "non-geographic number with allow list", region: "US", allowed: []string{"US"}, input: "+800 1234 5678", wantErr: ErrCountryNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewParser(tt.region, tt.allowed)
			if err != nil {
				t.Fatalf("NewParser: got error %v, want nil", err)
			}
			got, err := p.Parse(tt.input)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(%q) error: got %v, want %v", tt.input, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Parse(%q): got %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{name: "US", input: "+14155550123", want: "+1 ••• ••• 0123"},
		{name: "UK mobile", input: "+447400123456", want: "+44 ••• ••• 3456"},
		{name: "France", input: "+33612345678", want: "+33 •• ••• 5678"},
		{name: "Germany, eleven digits", input: "+4915123456789", want: "+49 • ••• ••• 6789"},
		{name: "short national number", input: "+4918012345", want: "+49 • ••• 2345"},
		{name: "not E.164 keeps two digits", input: "4155550123", want: "•• ••• ••• 23"},
		{name: "garbage", input: "hello", want: "•••"},
		{name: "empty", input: "", want: "•••"},
		{name: "few digits are all hidden", input: "12", want: "••"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Mask(tt.input); got != tt.want {
				t.Errorf("Mask(%q): got %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}

func TestRegion(t *testing.T) {
	tests := []struct {
		name, number, want string
	}{
		{name: "US", number: "+12015550123", want: "US"},
		{name: "GB", number: "+447400123456", want: "GB"},
		{name: "not a number", number: "hello", want: ""},
		{name: "empty", number: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Region(tt.number); got != tt.want {
				t.Errorf("Region(%q): got %q, want %q", tt.number, got, tt.want)
			}
		})
	}
}

// A remembered answer is the answer: the same input twice gives the same
// number or the same refusal.
func TestParseRemembers(t *testing.T) {
	p, err := NewParser("US", []string{"US"})
	if err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"(201) 555-0123", "+44 7400 123456", "not a number"} {
		first, firstErr := p.Parse(input)
		second, secondErr := p.Parse(input)
		if first != second || !errors.Is(secondErr, firstErr) {
			t.Errorf("Parse(%q): first %q, %v; then %q, %v", input, first, firstErr, second, secondErr)
		}
	}
	if _, err := p.Parse("+44 7400 123456"); !errors.Is(err, ErrCountryNotAllowed) {
		t.Errorf("remembered refusal: got %v, want ErrCountryNotAllowed", err)
	}
}

func BenchmarkMask(b *testing.B) {
	for b.Loop() {
		Mask("+14155550132")
	}
}
