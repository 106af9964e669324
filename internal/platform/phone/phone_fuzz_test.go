package phone

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"(415) 555-0123",
		"+1 415 555 0123",
		"+44 7400 123456",
		"06 12 34 56 78",
		"+1 900 234 5678",
		"+800 1234 5678",
		"+1 800 FLOWERS",
		"tel:+1-415-555-0123;ext=12",
		"１２３",
		"",
	} {
		f.Add(seed, "US")
	}
	f.Add("07400 123456", "GB")
	f.Add("+33 6 12 34 56 78", "")

	parsers := map[string]*Parser{}
	for _, region := range []string{"", "US", "GB", "FR", "DE", "IT", "BR"} {
		p, err := NewParser(region, nil)
		if err != nil {
			f.Fatalf("NewParser(%q): %v", region, err)
		}
		parsers[region] = p
	}

	f.Fuzz(func(t *testing.T, input, region string) {
		p, ok := parsers[region]
		if !ok {
			p = parsers["US"]
		}
		got, err := p.Parse(input)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "+") {
			t.Fatalf("Parse(%q) = %q: want a leading +", input, got)
		}
		if len(got) > 16 {
			t.Fatalf("Parse(%q) = %q: got %d chars, want at most 16", input, got, len(got))
		}
		if strings.ContainsFunc(got[1:], func(r rune) bool { return r < '0' || r > '9' }) {
			t.Fatalf("Parse(%q) = %q: want only digits after +", input, got)
		}
		again, err := p.Parse(got)
		if err != nil || again != got {
			t.Fatalf("Parse(Parse(%q)) = %q, %v: want %q, nil", input, again, err, got)
		}
		if m := Mask(got); strings.Contains(m, got[1:]) {
			t.Fatalf("Mask(%q) = %q: reveals the whole number", got, m)
		}
	})
}
