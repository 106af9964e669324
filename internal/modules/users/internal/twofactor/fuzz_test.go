package twofactor

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzNormalizeCode: whatever is typed, a code that passes is exactly six
// ASCII digits, and MatchStep never panics on it.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12-34-56", "١٢٣٤٥٦", "1234567", "", "\x00", "１２３４５６"} {
		f.Add(s)
	}
	key, _ := NewKey()
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, in string) {
		code, ok := NormalizeCode(in)
		if ok {
			if len(code) != CodeDigits || strings.Trim(code, "0123456789") != "" {
				t.Fatalf("NormalizeCode(%q) = %q, want six ASCII digits", in, code)
			}
		} else if code != "" {
			t.Fatalf("NormalizeCode(%q) refused but returned %q", in, code)
		}
		MatchStep(key, in, now)
	})
}

// FuzzNormalizeRecoveryCode: a code that passes has exactly the length and
// alphabet of a recovery code, and normalising it again changes nothing.
func FuzzNormalizeRecoveryCode(f *testing.F) {
	codes, _ := NewRecoveryCodes()
	for _, s := range append(codes, "", "ABCD-EFGH-JKMN", "oooo-iiii-llll", "abcd efgh jkmn", "ǅǅǅǅ-ǅǅǅǅ-ǅǅǅǅ", "\xff\xfe") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, ok := NormalizeRecoveryCode(in)
		if !ok {
			return
		}
		if len(n) != recoveryChars || !utf8.ValidString(n) {
			t.Fatalf("NormalizeRecoveryCode(%q) = %q: wrong length", in, n)
		}
		for _, r := range n {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("NormalizeRecoveryCode(%q) = %q: %q is not in the alphabet", in, n, r)
			}
		}
		if again, ok := NormalizeRecoveryCode(n); !ok || again != n {
			t.Fatalf("normalising %q again gave %q, %v", n, again, ok)
		}
	})
}

// FuzzFields: any token string is either refused or gives exactly the
// number of fields asked for, and never validates without its signature.
func FuzzFields(f *testing.F) {
	s := Signer{Key: []byte("k")}
	f.Add(s.Sign("b", "u", "1", "true"))
	f.Add("")
	f.Add(".")
	f.Fuzz(func(t *testing.T, tok string) {
		if fs, ok := Fields(tok, 3); ok && len(fs) != 3 {
			t.Fatalf("Fields(%q) = %d fields, want 3", tok, len(fs))
		}
		s.Valid(tok, "b")
	})
}
