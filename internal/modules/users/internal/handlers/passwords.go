package handlers

import (
	"runtime"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/password"
)

// Each argon2id hash holds its memory cost (19 MiB by default) while it
// runs; limiting how many run at once keeps a burst of sign-ins or
// registrations from exhausting memory. Extra requests wait their turn.
func (h *Handler) hashSlots() chan struct{} {
	h.slotsOnce.Do(func() { h.slots = make(chan struct{}, 2*runtime.GOMAXPROCS(0)) })
	return h.slots
}

// hashPassword hashes pw with the module's argon2id parameters.
func (h *Handler) hashPassword(pw string) string {
	slots := h.hashSlots()
	slots <- struct{}{}
	defer func() { <-slots }()
	return h.Passwords.Hash(pw)
}

// verifyPassword checks pw against a stored hash.
func (h *Handler) verifyPassword(pw, encoded string) (bool, error) {
	slots := h.hashSlots()
	slots <- struct{}{}
	defer func() { <-slots }()
	return password.Verify(pw, encoded)
}
