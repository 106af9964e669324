package otp

import "testing"

func FuzzVerify(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef"), "phone-verification", "user-1", "+14155550123", "123456", "123457")
	f.Add([]byte("k"), "ab", "c", "t", "000000", "999999")
	f.Add([]byte{}, "", "", "", "", "000000")
	f.Add([]byte("k"), "p", "u", "t", "12345", "123456")
	f.Add([]byte("k"), "p", "u", "t", "１２３４５６", "123456")

	f.Fuzz(func(t *testing.T, key []byte, purpose, user, target, code, other string) {
		stored := Hash(key, purpose, user, target, code)
		if got, want := Verify(key, purpose, user, target, code, stored), isSixASCIIDigits(code); got != want {
			t.Fatalf("Verify(%q) with its own hash: got %v, want %v", code, got, want)
		}
		if other != code && Verify(key, purpose, user, target, other, stored) {
			t.Fatalf("Verify(%q) with the hash of %q: got true, want false", other, code)
		}
	})
}

// isSixASCIIDigits restates the rule independently of isCode.
func isSixASCIIDigits(s string) bool {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
		n++
	}
	return n == 6 && len(s) == 6
}
