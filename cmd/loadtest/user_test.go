package main

import (
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
)

// The server refuses numbers libphonenumber does not accept; every number a
// virtual user may get must pass the server's own parser unchanged.
func TestPhoneNumbersAreValidAndDistinct(t *testing.T) {
	p, err := phone.NewParser("US", nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for i := range maxUsers * numbersPerUser {
		n := phoneNumber(i)
		got, err := p.Parse(n)
		if err != nil {
			t.Errorf("phoneNumber(%d) = %s: %v", i, n, err)
			continue
		}
		if got != n {
			t.Errorf("phoneNumber(%d) = %s, parsed as %s", i, n, got)
		}
		if seen[n] {
			t.Errorf("phoneNumber(%d) = %s, given twice", i, n)
		}
		seen[n] = true
	}
}
