// Package secrets makes the random values and derived keys the platform
// and modules need: ids, tokens, their stored hashes, and purpose-bound keys
// derived from the app secret. One place, so every caller gets the same
// strength and encoding.
package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Derive returns a 256-bit key for purpose from the app secret, so each use
// (flash cookies, phone codes, outbox encryption) has its own key.
func Derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Token returns n random bytes, base64url-encoded: session tokens (32),
// link tokens (32), security stamps (16).
func Token(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ID returns a random 128-bit id in UUID (version 4) form.
func ID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Hash is the stored form of a token: hex SHA-256. Tokens are 256-bit
// random, so a fast hash suffices; a database read yields nothing usable.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
