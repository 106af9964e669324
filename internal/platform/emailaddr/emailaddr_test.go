package emailaddr

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "ann@example.com", want: "ann@example.com"},
		{name: "upper case", in: "Ann.Lee@Example.COM", want: "ann.lee@example.com"},
		{name: "surrounding spaces", in: "  ann@example.com \t", want: "ann@example.com"},
		{name: "plus addressing", in: "ann+news@example.com", want: "ann+news@example.com"},
		{name: "dots and underscores kept", in: "a.n_n-x@mail.example.co.uk", want: "a.n_n-x@mail.example.co.uk"},
		{name: "digits", in: "ann1990@example.com", want: "ann1990@example.com"},
		{name: "fullwidth local part", in: "ａｎｎ@example.com", want: "ann@example.com"},
		{name: "fullwidth everything", in: "ＡＮＮ＠ｅｘａｍｐｌｅ．ｃｏｍ", want: "ann@example.com"},
		{name: "mathematical bold letters", in: "\U0001d41a\U0001d427\U0001d427@example.com", want: "ann@example.com"},
		{name: "ligature unfolds", in: "\ufb00@example.com", want: "ff@example.com"},
		{name: "Kelvin sign is a k", in: "\u212aate@example.com", want: "kate@example.com"},
		{name: "small commercial at", in: "ann﹫example.com", want: "ann@example.com"},
		{name: "no-break space after", in: "ann@example.com\u00a0", want: "ann@example.com"},
		{name: "IDN domain to ASCII", in: "ann@bücher.example", want: "ann@xn--bcher-kva.example"},
		{name: "IDN domain already ASCII", in: "ann@xn--bcher-kva.example", want: "ann@xn--bcher-kva.example"},
		{name: "IDN domain upper case", in: "ann@BÜCHER.example", want: "ann@xn--bcher-kva.example"},
		{name: "Cyrillic local part alone", in: "иван@example.com", want: "иван@example.com"},
		{name: "Cyrillic upper case folds", in: "ИВАН@example.com", want: "иван@example.com"},
		{name: "Greek local part", in: "αλφα@example.gr", want: "αλφα@example.gr"},
		{name: "Japanese scripts together", in: "ひらがなカタカナ漢字@example.jp", want: "ひらがなカタカナ漢字@example.jp"},
		{name: "German sharp s folds", in: "STRAẞE@example.de", want: "strasse@example.de"},
		{name: "Latin with combining accent composes", in: "rene\u0301@example.fr", want: "rené@example.fr"},
		{name: "Cyrillic domain label", in: "ivan@пример.рф", want: "ivan@xn--e1afmkfd.xn--p1ai"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil {
				t.Fatalf("Normalize(%q): got error %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{name: "Cyrillic er in Latin", in: "\u0440aypal@example.com", want: ErrMixedScript},
		{name: "Cyrillic ie in Latin", in: "ann\u0435@example.com", want: ErrMixedScript},
		{name: "Cyrillic a in Latin", in: "\u0430nn@example.com", want: ErrMixedScript},
		{name: "Greek omicron in Latin", in: "b\u03bfb@example.com", want: ErrMixedScript},
		{name: "Cyrillic o in domain label", in: "ann@ex\u0430mple.com", want: ErrMixedScript},
		{name: "mixed label typed as punycode", in: "ann@xn--exmple-4nf.com", want: ErrMixedScript},
		{name: "zero-width space inside", in: "an\u200bn@example.com", want: ErrInvisible},
		{name: "zero-width space after", in: "ann@example.com\u200b", want: ErrInvisible},
		{name: "zero-width joiner", in: "ann\u200d@example.com", want: ErrInvisible},
		{name: "byte order mark first", in: "\ufeffann@example.com", want: ErrInvisible},
		{name: "right-to-left override", in: "\u202eann@example.com", want: ErrInvisible},
		{name: "soft hyphen", in: "an\u00adn@example.com", want: ErrInvisible},
		{name: "Hangul filler", in: "ann\u3164@example.com", want: ErrInvisible},
		{name: "variation selector", in: "ann\ufe0f@example.com", want: ErrInvisible},
		{name: "NUL", in: "vic\x00tim@example.com", want: ErrInvisible},
		{name: "newline inside", in: "ann\n@example.com", want: ErrInvisible},
		{name: "invalid UTF-8", in: "ann\xff@example.com", want: ErrInvalid},
		{name: "replacement character", in: "ann\ufffd@example.com", want: ErrInvalid},
		{name: "private use", in: "ann\ue000@example.com", want: ErrInvalid},
		{name: "unassigned code point", in: "ann\u0378@example.com", want: ErrInvalid},
		{name: "empty", in: "   ", want: ErrInvalid},
		{name: "no at", in: "ann.example.com", want: ErrInvalid},
		{name: "empty local part", in: "@example.com", want: ErrInvalid},
		{name: "empty domain", in: "ann@", want: ErrInvalid},
		{name: "two ats", in: "ann@bob@example.com", want: ErrInvalid},
		{name: "space inside", in: "ann lee@example.com", want: ErrInvalid},
		{name: "ideographic space inside", in: "ann\u3000lee@example.com", want: ErrInvalid},
		{name: "domain without dot", in: "ann@localhost", want: ErrInvalid},
		{name: "domain with underscore", in: "ann@exa_mple.com", want: ErrInvalid},
		{name: "too long", in: strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".com", want: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Normalize(%q) = %q, %v; want error %v", tt.in, got, err, tt.want)
			}
			if got != "" {
				t.Errorf("Normalize(%q) returned %q with its error, want empty", tt.in, got)
			}
		})
	}
}

// TestLookAlikesCollide is the point of the package: what reads as ann@ is
// either ann@ or refused, never a different account.
func TestLookAlikesCollide(t *testing.T) {
	want, err := Normalize("ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"ANN@EXAMPLE.COM", "ａｎｎ@example.com", "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", " ann@example.com\u3000"} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"\u0430nn@example.com", "ann@example.com\u200b", "a\u200bnn@example.com", "ann@\u0435xample.com"} {
		if got, err := Normalize(in); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", in, got)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"ann@example.com", "Ann+tag@Example.COM", "ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "\u0440aypal@example.com",
		"an\u200bn@example.com", "ann@bücher.example", "ann@xn--bcher-kva.example", "иван@пример.рф",
		"STRAẞE@example.de", "rene\u0301@example.fr", "ひらがな漢字@example.jp", "ann\xff@example.com",
		"vic\x00tim@example.com", "ann﹫example.com", "ǅ@example.com", "ﬀ@example.com", "ΐ@example.gr",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			if out != "" {
				t.Fatalf("Normalize(%q) = %q with error %v, want empty", in, out, err)
			}
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("Normalize(%q) = %q: not UTF-8", in, out)
		}
		if err := checkVisible(out); err != nil {
			t.Fatalf("Normalize(%q) = %q: %v", in, out, err)
		}
		again, err := Normalize(out)
		if err != nil {
			t.Fatalf("Normalize(Normalize(%q)) = error %v, want %q", in, err, out)
		}
		if again != out {
			t.Fatalf("Normalize(Normalize(%q)) = %q, want %q", in, again, out)
		}
	})
}
