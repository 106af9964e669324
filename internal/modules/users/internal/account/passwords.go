package account

import (
	"errors"
	"net/mail"
	"runtime"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/password"
	"github.com/simplemodule-go/simplemodule/internal/platform/emailaddr"
)

// Each argon2id hash holds its memory cost (19 MiB by default) while it
// runs; limiting how many run at once keeps a burst of sign-ins or
// registrations from exhausting memory. Extra requests wait their turn.
func hashSlots() int { return 2 * runtime.GOMAXPROCS(0) }

// hashPassword hashes pw with the module's argon2id parameters.
func (s *Service) hashPassword(pw string) string {
	s.slots <- struct{}{}
	defer func() { <-s.slots }()
	s.observeHash()
	return s.Passwords.Hash(pw)
}

// observeHash tells Deps.PasswordHashed about one argon2id computation.
func (s *Service) observeHash() {
	if s.PasswordHashed != nil {
		s.PasswordHashed()
	}
}

// verifyPassword checks pw against a stored hash.
func (s *Service) verifyPassword(pw, encoded string) (bool, error) {
	s.slots <- struct{}{}
	defer func() { <-s.slots }()
	s.observeHash()
	return password.Verify(pw, encoded)
}

// dummyHash is verified against when the email is unknown, so the time a
// sign-in takes does not reveal which accounts exist.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() { s.dummy = s.hashPassword("not a real password") })
	return s.dummy
}

// ValidEmail returns a message when email is not a plain address, or is one
// that could pass for another address: emailaddr.Normalize's refusals, in
// words a person can act on.
func ValidEmail(email string) string {
	email = strings.TrimSpace(email)
	if email == "" {
		return "Enter your email address."
	}
	if _, err := emailaddr.Normalize(email); err != nil {
		switch {
		case errors.Is(err, emailaddr.ErrInvisible):
			return "This address contains invisible characters. Type it again instead of pasting it."
		case errors.Is(err, emailaddr.ErrMixedScript):
			return "This address mixes letters from different alphabets (such as Latin and Cyrillic). Type it again using one alphabet."
		}
		return "Enter a valid email address, like name@example.com."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

// ValidNewPassword returns a message when a new password is not acceptable:
// too short or too long, unlike its confirmation, one of the most common
// passwords, or too easy to guess (NIST SP 800-63B). userInputs are what
// an attacker may know about the person (their email address): a password
// built from them counts as guessable. The message says why, and how to
// do better.
func ValidNewPassword(pw, confirm string, userInputs ...string) string {
	switch {
	case len([]rune(pw)) < minPasswordLen:
		return "Use a password of at least 8 characters."
	case len(pw) > maxPasswordLen:
		return "Use a password of at most 256 characters."
	case pw != confirm:
		return "The password and its confirmation do not match."
	}
	if s := password.Estimate(pw, userInputs...); s.Weak() {
		return strings.TrimSpace("This password is too easy to guess. "+s.Warning) + " " + passwordAdvice
	}
	return ""
}

// passwordAdvice is how to make a guessable password strong without
// the composition rules (digits, symbols) that NIST advises against.
const passwordAdvice = "Add another word or two; uncommon words are better."

// checkEmail and checkNewPassword are ValidEmail and ValidNewPassword as
// errors.
func checkEmail(addr string) error {
	if msg := ValidEmail(addr); msg != "" {
		return invalid(msg)
	}
	return nil
}

func checkNewPassword(pw, confirm string, userInputs ...string) error {
	if msg := ValidNewPassword(pw, confirm, userInputs...); msg != "" {
		return invalid(msg)
	}
	return nil
}
