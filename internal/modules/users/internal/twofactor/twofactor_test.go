package twofactor

import (
	"strings"
	"testing"
	"time"
)

func TestMatchStepAcceptsOneStepOfSkewAndNoMore(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(mustDecode(key)); n*8 < 160 {
		t.Fatalf("key has %d bits, want at least 160", n*8)
	}
	now := time.Unix(1_800_000_015, 0)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{{-60 * time.Second, false}, {-30 * time.Second, true}, {0, true}, {30 * time.Second, true}, {60 * time.Second, false}} {
		code, err := Code(key, now.Add(tc.offset))
		if err != nil {
			t.Fatal(err)
		}
		step, ok := MatchStep(key, code, now)
		if ok != tc.ok {
			t.Errorf("code of %v: matched %v, want %v", tc.offset, ok, tc.ok)
		}
		if ok && step != Step(now.Add(tc.offset)) {
			t.Errorf("code of %v: step %d, want %d (the step the code belongs to)", tc.offset, step, Step(now.Add(tc.offset)))
		}
	}
	code, _ := Code(key, now)
	if _, ok := MatchStep(key, code[:3]+" "+code[3:], now); !ok {
		t.Errorf("a code typed with a space was refused")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodes {
		t.Fatalf("got %d codes, want %d", len(codes), RecoveryCodes)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		n, ok := NormalizeRecoveryCode(c)
		if !ok || len(n)*5 < 50 {
			t.Fatalf("code %q: normalised %q, %v; want a code of at least 50 bits", c, n, ok)
		}
		if seen[n] {
			t.Fatalf("code %q twice", c)
		}
		seen[n] = true
		// Typed in capitals, without hyphens, with spaces: the same code.
		if again, _ := NormalizeRecoveryCode(" " + strings.ToUpper(strings.ReplaceAll(c, "-", " ")) + " "); again != n {
			t.Errorf("code %q typed another way normalised to %q, want %q", c, again, n)
		}
	}
	for _, bad := range []string{"", "abcd-efgh", "abcd-efgh-jkmn-p", "abcd-efgh-jkm\u00e9", "abcd-efgh-jkmu"} {
		if n, ok := NormalizeRecoveryCode(bad); ok {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, accepted; want refused", bad, n)
		}
	}
	if a, b := HashRecoveryCode([]byte("k"), "u1", "x"), HashRecoveryCode([]byte("k"), "u2", "x"); a == b {
		t.Errorf("the same code of two users hashes the same")
	}
}

func TestSealerBindsTheUser(t *testing.T) {
	s := NewSealer(make([]byte, 32))
	sealed, err := s.Seal("u1", "JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "JBSWY3DP") {
		t.Fatalf("sealed value %q shows the key", sealed)
	}
	if got, err := s.Open("u1", sealed); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v; want the key", got, err)
	}
	if _, err := s.Open("u2", sealed); err == nil {
		t.Errorf("a key sealed for u1 opened for u2")
	}
	if _, err := NewSealer(append(make([]byte, 31), 1)).Open("u1", sealed); err == nil {
		t.Errorf("a key sealed with one app secret opened with another")
	}
}

func TestSignerBindsTheBinding(t *testing.T) {
	s := Signer{Key: []byte("key")}
	tok := s.Sign("stamp-1", "user", "123", "true")
	f, ok := Fields(tok, 3)
	if !ok || f[0] != "user" || f[1] != "123" || f[2] != "true" {
		t.Fatalf("Fields = %q, %v", f, ok)
	}
	if !s.Valid(tok, "stamp-1") {
		t.Fatalf("token not valid for its binding")
	}
	if s.Valid(tok, "stamp-2") {
		t.Errorf("token valid after the binding changed")
	}
	if (Signer{Key: []byte("other")}).Valid(tok, "stamp-1") {
		t.Errorf("token valid under another key")
	}
	forged := Signer{Key: []byte("key")}.Sign("stamp-1", "admin", "123", "true")
	payload, _, _ := strings.Cut(forged, ".")
	_, sig, _ := strings.Cut(tok, ".")
	if s.Valid(payload+"."+sig, "stamp-1") {
		t.Errorf("a signature moved onto other fields was accepted")
	}
}
