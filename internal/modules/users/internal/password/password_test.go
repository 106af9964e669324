package password

import "testing"

func TestHashVerify(t *testing.T) {
	h := Cheap.Hash("correct horse")
	tests := []struct {
		name string
		pw   string
		want bool
	}{
		{"same password", "correct horse", true},
		{"other password", "correct horsf", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.pw, h)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if first, second := Cheap.Hash("x"), Cheap.Hash("x"); first == second {
		t.Error("two hashes of one password are equal; want a fresh salt each time")
	}
	if _, err := Verify("x", "$bcrypt$bad"); err == nil {
		t.Error("got nil error for a malformed hash, want ErrMalformed")
	}
}

// BenchmarkVerifyDefault is the cost of one sign-in's password check with
// the production parameters (recorded in docs/BENCHMARKS.md).
func BenchmarkVerifyDefault(b *testing.B) {
	h := Default.Hash("correct horse battery staple")
	for b.Loop() {
		if ok, _ := Verify("correct horse battery staple", h); !ok {
			b.Fatal("verify failed")
		}
	}
}
