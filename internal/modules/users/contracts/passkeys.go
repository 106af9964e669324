package contracts

import (
	"errors"
	"time"
)

// Passkey is one of a user's passkeys as lists show it: no key material.
type Passkey struct {
	ID         string // opaque id for renaming and deleting
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used to sign in
	Synced     bool      // the authenticator says it is backed up (BS flag)
}

// ErrPasskeyNotFound: the user has no passkey with that id.
var ErrPasskeyNotFound = errors.New("passkey not found")

// PasskeyAdded: the user registered a passkey named Name.
type PasskeyAdded struct{ UserID, Name string }

// PasskeyRemoved: the passkey named Name was deleted by ActorID (the user
// themselves or an administrator).
type PasskeyRemoved struct{ UserID, ActorID, Name string }
