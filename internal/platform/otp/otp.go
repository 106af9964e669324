// Package otp generates one-time codes and stores them only as keyed
// hashes bound to what the code is for, so a leaked table of hashes neither
// reveals codes nor lets a code for one user, number or purpose confirm
// another.
package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
)

// Length is the number of decimal digits in a code.
const Length = 6

// codeSpace is the number of distinct codes: 10^Length.
const codeSpace = 1_000_000

// acceptBelow is the largest multiple of codeSpace that fits in 2^32.
// Draws at or above it are thrown away so every code is equally likely;
// taking the remainder of any uint32 would favour the low codes.
const acceptBelow = (1 << 32) / codeSpace * codeSpace

// hashDomain separates these hashes from any other HMAC computed with the
// same key, and versions the encoding.
const hashDomain = "simplemodule/otp/v1"

// Generate returns a code of Length decimal digits, zero-padded, drawn
// uniformly from crypto/rand.
func Generate() (string, error) {
	var buf [4]byte
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("generate code: %w", err)
		}
		if n := binary.BigEndian.Uint32(buf[:]); n < acceptBelow {
			return fmt.Sprintf("%0*d", Length, n%codeSpace), nil
		}
	}
}

// Hash returns the HMAC-SHA256, under key, of the code bound to purpose
// (for example "phone-verification"), userID and target (the E.164 number
// or address the code was sent to). Each field is length-prefixed, so no
// two different tuples share an encoding. key should be at least 32 random
// bytes kept out of the database.
func Hash(key []byte, purpose, userID, target, code string) []byte {
	mac := hmac.New(sha256.New, key)
	var encoded []byte
	for _, field := range [...]string{hashDomain, purpose, userID, target, code} {
		encoded = binary.BigEndian.AppendUint64(encoded, uint64(len(field)))
		encoded = append(encoded, field...)
	}
	mac.Write(encoded)
	return mac.Sum(nil)
}

// Verify reports whether code is the code whose Hash, for the same key,
// purpose, userID and target, is stored. The comparison takes constant
// time. A code that is not exactly Length ASCII digits is refused without
// hashing; pass user input through Normalize first.
func Verify(key []byte, purpose, userID, target, code string, stored []byte) bool {
	if !isCode(code) {
		return false
	}
	return hmac.Equal(Hash(key, purpose, userID, target, code), stored)
}

// Normalize removes the spaces and dashes people type inside or around a
// code, so "123 456" and "123-456" become "123456". It changes nothing
// else; Verify decides whether what is left is a code.
func Normalize(input string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			return -1
		}
		return r
	}, input)
}

func isCode(s string) bool {
	if len(s) != Length {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
