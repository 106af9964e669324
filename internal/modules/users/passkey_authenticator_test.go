package users_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// softKey is a tiny software authenticator for tests: one ECDSA P-256
// passkey, answering the server's options the way a browser and a platform
// authenticator would — clientDataJSON, authenticator data, a "none"
// attestation in CBOR built by hand, and ES256 signatures.
type softKey struct {
	t       *testing.T
	key     *ecdsa.PrivateKey
	id      []byte // credential id
	handle  []byte // user handle, learnt at registration
	rpID    string
	origin  string // the origin the "browser" reports
	counter uint32 // signature counter; 0 means the authenticator keeps none
	synced  bool   // BE and BS flags
}

func newSoftKey(t *testing.T, rpID, origin string) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{t: t, key: key, id: id, rpID: rpID, origin: origin}
}

var b64url = base64.RawURLEncoding

// ceremonyOptions is the part of the server's options the authenticator reads.
type ceremonyOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		RPID string `json:"rpId"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func (k *softKey) parse(options string) ceremonyOptions {
	k.t.Helper()
	var o ceremonyOptions
	if err := json.Unmarshal([]byte(options), &o); err != nil {
		k.t.Fatalf("options are not JSON: %v; %s", err, options)
	}
	if o.PublicKey.Challenge == "" {
		k.t.Fatalf("options hold no challenge: %s", options)
	}
	return o
}

func (k *softKey) clientData(kind, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data: RP ID hash, flags (user present and
// verified, backup flags when synced), counter, and attested credential
// data when attested.
func (k *softKey) authData(attested bool) []byte {
	rp := sha256.Sum256([]byte(k.rpID))
	flags := byte(0x01 | 0x04)
	if k.synced {
		flags |= 0x08 | 0x10
	}
	if attested {
		flags |= 0x40
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.counter)
	if !attested {
		return out
	}
	out = append(out, make([]byte, 16)...) // AAGUID: none
	out = binary.BigEndian.AppendUint16(out, uint16(len(k.id)))
	out = append(out, k.id...)
	x, y := make([]byte, 32), make([]byte, 32)
	k.key.X.FillBytes(x)
	k.key.Y.FillBytes(y)
	// COSE_Key: kty EC2 (1: 2), alg ES256 (3: -7), crv P-256 (-1: 1), x (-2), y (-3).
	return append(out, cborMap(cborInt(1), cborInt(2), cborInt(3), cborInt(-7), cborInt(-1), cborInt(1),
		cborInt(-2), cborBytes(x), cborInt(-3), cborBytes(y))...)
}

// create answers registration options: a PublicKeyCredential as JSON.
func (k *softKey) create(options string) json.RawMessage {
	k.t.Helper()
	o := k.parse(options)
	if o.PublicKey.RP.ID != "" {
		k.rpID = o.PublicKey.RP.ID
	}
	h, err := b64url.DecodeString(o.PublicKey.User.ID)
	if err != nil || len(h) == 0 {
		k.t.Fatalf("user handle %q: %v", o.PublicKey.User.ID, err)
	}
	k.handle = h
	att := cborMap(cborText("fmt"), cborText("none"), cborText("attStmt"), cborMap(), cborText("authData"), cborBytes(k.authData(true)))
	b, _ := json.Marshal(map[string]any{
		"id": b64url.EncodeToString(k.id), "rawId": b64url.EncodeToString(k.id), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64url.EncodeToString(k.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64url.EncodeToString(att),
			"transports":        []string{"internal"},
		},
	})
	return b
}

// get answers sign-in options: an assertion signed by the key, the
// counter moved on first when the authenticator keeps one.
func (k *softKey) get(options string) json.RawMessage {
	k.t.Helper()
	o := k.parse(options)
	if k.counter > 0 {
		k.counter++
	}
	data := k.clientData("webauthn.get", o.PublicKey.Challenge)
	auth := k.authData(false)
	digest := sha256.Sum256(data)
	signed := sha256.Sum256(append(append([]byte{}, auth...), digest[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, signed[:])
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64url.EncodeToString(k.id), "rawId": b64url.EncodeToString(k.id), "type": "public-key",
		"clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64url.EncodeToString(data),
			"authenticatorData": b64url.EncodeToString(auth),
			"signature":         b64url.EncodeToString(sig),
			"userHandle":        b64url.EncodeToString(k.handle),
		},
	})
	return b
}

// The CBOR the authenticator needs (RFC 8949): small maps of integers,
// text and byte strings.
func cborHead(major byte, n int) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	default:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	}
}

func cborInt(v int) []byte {
	if v >= 0 {
		return cborHead(0, v)
	}
	return cborHead(1, -1-v)
}

func cborBytes(b []byte) []byte { return append(cborHead(2, len(b)), b...) }
func cborText(s string) []byte  { return append(cborHead(3, len(s)), s...) }

func cborMap(items ...[]byte) []byte {
	out := cborHead(5, len(items)/2)
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}
