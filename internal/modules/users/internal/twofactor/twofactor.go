// Package twofactor holds the pure pieces of two-factor sign-in: the
// authenticator's time-based codes (RFC 6238), recovery codes, sealing the
// authenticator key at rest, and the signed tokens of the half-signed-in
// state and of remembered browsers. Nothing here touches the database;
// the account package owns the rules.
package twofactor

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The authenticator's parameters: SHA-1, 6 digits, 30-second steps, one
// step of clock skew either way (what every authenticator app assumes).
const (
	Period     = 30
	Skew       = 1
	keyBytes   = 20 // 160 bits, RFC 4226's recommendation
	CodeDigits = 6
)

var totpOpts = totp.ValidateOpts{Period: Period, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewKey returns a new authenticator key, base32 without padding.
func NewKey() (string, error) {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// Enrolment is what an authenticator app scans: the otpauth:// URL of a
// key, and the same URL as a PNG QR code, size pixels square.
func Enrolment(issuer, account, key string, size int) (url string, qrPNG []byte, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: Period, Digits: otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1, Secret: mustDecode(key)})
	if err != nil {
		return "", nil, err
	}
	img, err := k.Image(size, size)
	if err != nil {
		return "", nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", nil, err
	}
	return k.URL(), buf.Bytes(), nil
}

func mustDecode(key string) []byte {
	b, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key)
	return b
}

// GroupKey writes key in groups of four for a person to type.
func GroupKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(key[i:min(i+4, len(key))])
	}
	return b.String()
}

// NormalizeCode returns the six digits of a typed code (spaces and
// hyphens ignored) and whether it is one.
func NormalizeCode(input string) (string, bool) {
	if len(input) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range input {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\t':
		default:
			return "", false
		}
	}
	if b.Len() != CodeDigits {
		return "", false
	}
	return b.String(), true
}

// Step is the time step of t.
func Step(t time.Time) int64 { return t.Unix() / Period }

// MatchStep checks code against key at now, within Skew steps either way,
// and returns the step it matched; every step is compared, so the time
// taken does not tell which one matched.
func MatchStep(key, code string, now time.Time) (int64, bool) {
	code, ok := NormalizeCode(code)
	if !ok {
		return 0, false
	}
	var matched int64
	found := false
	for d := -Skew; d <= Skew; d++ {
		at := now.Add(time.Duration(d*Period) * time.Second)
		want, err := totp.GenerateCodeCustom(key, at, totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !found {
			matched, found = Step(at), true
		}
	}
	return matched, found
}

// Code is the authenticator's code for key at t, as the app shows it
// (tests type it; sign-in uses MatchStep).
func Code(key string, t time.Time) (string, error) { return totp.GenerateCodeCustom(key, t, totpOpts) }

// Recovery codes: RecoveryCodes of them, each recoveryChars characters of
// a 32-letter alphabet without look-alikes (60 bits), shown in groups of
// four: "7kq2-x9mf-3hdp".
const (
	RecoveryCodes = 10
	recoveryChars = 12
	alphabet      = "0123456789abcdefghjkmnpqrstvwxyz" // Crockford: no i, l, o, u
)

// NewRecoveryCodes returns RecoveryCodes fresh codes, as shown.
func NewRecoveryCodes() ([]string, error) {
	codes := make([]string, RecoveryCodes)
	buf := make([]byte, recoveryChars)
	for i := range codes {
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		var b strings.Builder
		for j, c := range buf {
			if j > 0 && j%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(alphabet[c&31]) // 256 is a multiple of 32: uniform
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// NormalizeRecoveryCode returns the canonical form of a typed recovery
// code — case, spaces and hyphens ignored, and the look-alikes i/l → 1,
// o → 0 read as Crockford does — and whether it can be one.
func NormalizeRecoveryCode(input string) (string, bool) {
	if len(input) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToLower(input) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'i' || r == 'l':
			r = '1'
		case r == 'o':
			r = '0'
		}
		if r > 0x7f || !strings.ContainsRune(alphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != recoveryChars {
		return "", false
	}
	return b.String(), true
}

// HashRecoveryCode is the keyed hash stored for a normalised code of
// userID. The codes carry 60 random bits, so a keyed fast hash is enough:
// without the key the stored hashes say nothing.
func HashRecoveryCode(key []byte, userID, normalized string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(normalized))
	return hex.EncodeToString(m.Sum(nil))
}

// Sealer encrypts authenticator keys at rest (AES-256-GCM), each bound to
// its user so a sealed key copied to another row does not open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer builds a Sealer from a 32-byte key.
func NewSealer(key []byte) *Sealer {
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Sealer{aead: aead}
}

// Seal encrypts plain for userID.
func (s *Sealer) Seal(userID, plain string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), []byte(userID))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// ErrUnsealed means a sealed value did not open (another key, another user
// or tampered).
var ErrUnsealed = errors.New("sealed value does not open")

// Open decrypts what Seal sealed for userID.
func (s *Sealer) Open(userID, sealed string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", ErrUnsealed
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(userID))
	if err != nil {
		return "", ErrUnsealed
	}
	return string(plain), nil
}

// Signer makes tokens that carry a few fields in the clear and a MAC over
// them and a binding the token does not carry (the account's security
// stamp): the token stops being valid when the binding changes.
type Signer struct{ Key []byte }

const sep = "\x1f"

// Sign returns fields as a token bound to binding.
func (s Signer) Sign(binding string, fields ...string) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(strings.Join(fields, sep)))
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload, binding))
}

func (s Signer) mac(payload, binding string) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(payload))
	m.Write([]byte{0})
	m.Write([]byte(binding))
	return m.Sum(nil)
}

// Fields returns the n fields a token carries, not yet verified: the
// caller looks up the binding with them, then calls Valid.
func Fields(token string, n int) ([]string, bool) {
	payload, _, ok := strings.Cut(token, ".")
	if !ok || len(token) > 1024 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, false
	}
	f := strings.Split(string(b), sep)
	if len(f) != n {
		return nil, false
	}
	return f, true
}

// Valid reports whether token was signed by s for binding.
func (s Signer) Valid(token, binding string) bool {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, s.mac(payload, binding))
}
