package otp

import (
	"bytes"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestGenerateFormat(t *testing.T) {
	for range 1000 {
		code, err := Generate()
		if err != nil {
			t.Fatalf("Generate: got error %v, want nil", err)
		}
		if !isCode(code) {
			t.Fatalf("Generate: got %q, want %d ASCII digits", code, Length)
		}
	}
}

func TestGenerateDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("draws 200k codes")
	}
	const draws = 200_000
	var counts [Length][10]int
	for range draws {
		code, err := Generate()
		if err != nil {
			t.Fatalf("Generate: got error %v, want nil", err)
		}
		for pos := range Length {
			counts[pos][code[pos]-'0']++
		}
	}

	// Each count has a standard deviation near 134, so ±10% (2,000) is
	// about fifteen of them: a real bias shows, chance never does.
	const want, band = draws / 10, draws / 100
	tests := []struct {
		name string
		pos  int
	}{
		{name: "first digit", pos: 0},
		{name: "middle digit", pos: 3},
		{name: "last digit", pos: Length - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for digit, got := range counts[tt.pos] {
				if got < want-band || got > want+band {
					t.Errorf("digit %d at position %d: got %d draws, want %d±%d", digit, tt.pos, got, want, band)
				}
			}
		})
	}
}

func TestHashBindsEveryField(t *testing.T) {
	base := Hash(testKey, "phone-verification", "user-1", "+14155550123", "123456")
	tests := []struct {
		name string
		hash []byte
	}{
		{name: "other key", hash: Hash([]byte("another key"), "phone-verification", "user-1", "+14155550123", "123456")},
		{name: "other purpose", hash: Hash(testKey, "email-verification", "user-1", "+14155550123", "123456")},
		{name: "other user", hash: Hash(testKey, "phone-verification", "user-2", "+14155550123", "123456")},
		{name: "other target", hash: Hash(testKey, "phone-verification", "user-1", "+14155550124", "123456")},
		{name: "other code", hash: Hash(testKey, "phone-verification", "user-1", "+14155550123", "123457")},
		{name: "fields shifted left", hash: Hash(testKey, "phone-verificationu", "ser-1", "+14155550123", "123456")},
		{name: "fields shifted right", hash: Hash(testKey, "phone-verification", "user-1+", "14155550123", "123456")},
		{name: "code moved into target", hash: Hash(testKey, "phone-verification", "user-1", "+14155550123123456", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(tt.hash, base) {
				t.Errorf("hash: got %x, want anything but %x", tt.hash, base)
			}
		})
	}
}

func TestHashFieldBoundaries(t *testing.T) {
	tests := []struct {
		name string
		a, b [4]string
	}{
		{name: "purpose and user", a: [4]string{"ab", "c", "t", "123456"}, b: [4]string{"a", "bc", "t", "123456"}},
		{name: "user and target", a: [4]string{"p", "ab", "c", "123456"}, b: [4]string{"p", "a", "bc", "123456"}},
		{name: "empty fields", a: [4]string{"", "x", "", "123456"}, b: [4]string{"x", "", "", "123456"}},
		{name: "separator-like bytes", a: [4]string{"p\x00", "u", "t", "123456"}, b: [4]string{"p", "\x00u", "t", "123456"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ha := Hash(testKey, tt.a[0], tt.a[1], tt.a[2], tt.a[3])
			hb := Hash(testKey, tt.b[0], tt.b[1], tt.b[2], tt.b[3])
			if bytes.Equal(ha, hb) {
				t.Errorf("Hash(%q) == Hash(%q): got equal hashes, want different", tt.a, tt.b)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	const purpose, user, target, code = "phone-verification", "user-1", "+14155550123", "012345"
	stored := Hash(testKey, purpose, user, target, code)

	tests := []struct {
		name    string
		key     []byte
		purpose string
		user    string
		target  string
		code    string
		stored  []byte
		want    bool
	}{
		{name: "right code", key: testKey, purpose: purpose, user: user, target: target, code: code, stored: stored, want: true},
		{name: "wrong code", key: testKey, purpose: purpose, user: user, target: target, code: "012346", stored: stored},
		{name: "other user", key: testKey, purpose: purpose, user: "user-2", target: target, code: code, stored: stored},
		{name: "other target", key: testKey, purpose: purpose, user: user, target: "+14155550124", code: code, stored: stored},
		{name: "other purpose", key: testKey, purpose: "login", user: user, target: target, code: code, stored: stored},
		{name: "other key", key: []byte("rotated"), purpose: purpose, user: user, target: target, code: code, stored: stored},
		{name: "leading zero dropped", key: testKey, purpose: purpose, user: user, target: target, code: "12345", stored: stored},
		{name: "not normalized", key: testKey, purpose: purpose, user: user, target: target, code: "012 345", stored: stored},
		{name: "seven digits", key: testKey, purpose: purpose, user: user, target: target, code: "0123456", stored: stored},
		{name: "non-ASCII digits", key: testKey, purpose: purpose, user: user, target: target, code: "０１２３４５", stored: stored},
		{name: "empty code", key: testKey, purpose: purpose, user: user, target: target, code: "", stored: stored},
		{name: "nothing stored", key: testKey, purpose: purpose, user: user, target: target, code: code, stored: nil},
		{name: "truncated hash", key: testKey, purpose: purpose, user: user, target: target, code: code, stored: stored[:16]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.key, tt.purpose, tt.user, tt.target, tt.code, tt.stored); got != tt.want {
				t.Errorf("Verify(%q): got %v, want %v", tt.code, got, tt.want)
			}
		})
	}
}

func TestVerifyRefusesNonCodesEvenWhenHashed(t *testing.T) {
	tests := []struct {
		name string
		code string
	}{
		{name: "letters", code: "abcdef"},
		{name: "five digits", code: "12345"},
		{name: "empty", code: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := Hash(testKey, "p", "u", "t", tt.code)
			if got := Verify(testKey, "p", "u", "t", tt.code, stored); got {
				t.Errorf("Verify(%q): got %v, want false", tt.code, got)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{name: "plain", input: "123456", want: "123456"},
		{name: "space", input: "123 456", want: "123456"},
		{name: "dash", input: "123-456", want: "123456"},
		{name: "surrounding whitespace", input: "\t 123456 \n", want: "123456"},
		{name: "non-breaking space and en dash", input: "123\u00a0456\u2013", want: "123456"},
		{name: "letters are kept for Verify to refuse", input: "12a 456", want: "12a456"},
		{name: "empty", input: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.input); got != tt.want {
				t.Errorf("Normalize(%q): got %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}
