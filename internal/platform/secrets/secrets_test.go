package secrets

import (
	"regexp"
	"testing"
)

func TestValues(t *testing.T) {
	if a, b := ID(), ID(); a == b || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(a) {
		t.Errorf("ID: got %q and %q, want two different v4 UUIDs", a, b)
	}
	if got := len(Token(32)); got != 43 {
		t.Errorf("Token(32): got %d characters, want 43", got)
	}
	if Hash("a") == Hash("b") || len(Hash("a")) != 64 {
		t.Errorf("Hash: got %q for a, want 64 hex characters distinct from b's", Hash("a"))
	}
	if string(Derive([]byte("s"), "x")) == string(Derive([]byte("s"), "y")) {
		t.Error("Derive: two purposes gave the same key")
	}
}
