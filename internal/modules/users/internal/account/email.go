package account

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
)

func (s *Service) confirmationMail(userID, addr string) linkMail {
	return linkMail{UserID: userID, To: addr, Purpose: purposeConfirm, Target: store.NormalizeEmail(addr),
		TTL: s.Policy.EmailTokenTTL, Path: "/account/confirm-email", Template: mailConfirm}
}

// ConfirmEmail consumes the link from the confirmation email and marks the
// address confirmed. Errors: ErrTokenInvalid, ErrTokenExpired, ErrTokenUsed.
func (s *Service) ConfirmEmail(ctx context.Context, userID, code string, c Client) error {
	acct, err := s.Store.AccountByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrTokenInvalid
	}
	if err != nil {
		return err
	}
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.ConsumeToken(ctx, tx, acct.ID, purposeConfirm, store.NormalizeEmail(acct.Email), code); err != nil {
			return err
		}
		if err := s.Store.SetEmailConfirmed(ctx, tx, acct.ID); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: acct.ID, SubjectID: acct.ID, Action: "email.confirmed", Detail: acct.Email, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.EmailConfirmed{UserID: acct.ID, Email: acct.Email})
	})
}

// SendConfirmation sends the signed-in user a new confirmation link.
// Errors: ErrAlreadyConfirmed, or a ThrottledError within the cooldown.
func (s *Service) SendConfirmation(ctx context.Context, u contracts.User) error {
	if err := s.emailCooldown(ctx, u.ID, purposeConfirm); err != nil {
		return err
	}
	if u.EmailConfirmed {
		return ErrAlreadyConfirmed
	}
	return s.mailLink(ctx, s.confirmationMail(u.ID, u.Email))
}

func (s *Service) emailCooldown(ctx context.Context, userID, purpose string) error {
	wait, err := s.cooldown(ctx, userID, purpose)
	if err != nil {
		return err
	}
	if wait > 0 {
		return throttled(ReasonEmailCooldown, wait)
	}
	return nil
}

// ResendConfirmation sends a new link when the account exists, is
// unconfirmed and outside its cooldown. It says nothing about which of
// these held, so the anonymous form reveals no accounts; only an invalid
// address is an error.
func (s *Service) ResendConfirmation(ctx context.Context, addr string) error {
	if err := checkEmail(addr); err != nil {
		return err
	}
	acct, err := s.Store.AccountByEmail(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || acct.EmailConfirmed {
		return err
	}
	wait, err := s.cooldown(ctx, acct.ID, purposeConfirm)
	if err != nil || wait > 0 {
		return err
	}
	return s.mailLink(ctx, s.confirmationMail(acct.ID, acct.Email))
}

// RequestEmailChange sends a link to newEmail that moves the account there
// once opened. It asks for the current password: a stolen session must not
// be enough to move the account to another inbox (and from there reset the
// password). When the address belongs to another account nothing is sent
// but the outcome is the same, so the form cannot discover accounts.
func (s *Service) RequestEmailChange(ctx context.Context, u contracts.User, newEmail, currentPassword string, c Client) error {
	if err := s.emailCooldown(ctx, u.ID, purposeChangeEmail); err != nil {
		return err
	}
	if err := checkEmail(newEmail); err != nil {
		return err
	}
	if store.NormalizeEmail(newEmail) == store.NormalizeEmail(u.Email) {
		return invalid("That is already your email address.")
	}
	acct, err := s.Store.AccountByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, acct, currentPassword, c); err != nil {
		return err
	}
	_, err = s.Store.AccountByEmail(ctx, newEmail)
	taken := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return s.mailLink(ctx, linkMail{UserID: u.ID, To: newEmail, Purpose: purposeChangeEmail, Target: store.NormalizeEmail(newEmail),
		TTL: s.Policy.EmailTokenTTL, Path: "/account/confirm-email-change", Query: url.Values{"email": {newEmail}}, Template: mailChangeEmail, Silent: taken})
}

// ConfirmEmailChange consumes the link sent to a new address and, in one
// transaction, stores the address as confirmed, rotates the security stamp
// (ending the user's other sessions; keepSession, the current one when it
// is the user's, stays) and emits EmailChanged (the Notifications module
// tells the old address). Errors: the token errors, ErrEmailTaken.
func (s *Service) ConfirmEmailChange(ctx context.Context, userID, newEmail, code, keepSession string, c Client) error {
	newEmail = strings.TrimSpace(newEmail)
	acct, err := s.Store.AccountByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrTokenInvalid
	}
	if err != nil {
		return err
	}
	err = s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.ConsumeToken(ctx, tx, acct.ID, purposeChangeEmail, store.NormalizeEmail(newEmail), code); err != nil {
			return err
		}
		if err := s.Store.SetEmail(ctx, tx, acct.ID, newEmail); err != nil {
			return err
		}
		if err := s.rotateStamp(ctx, tx, acct.ID, keepSession); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: acct.ID, SubjectID: acct.ID, Action: "email.changed", Detail: acct.Email + " → " + newEmail, ClientIP: c.IP}); err != nil {
			return err
		}
		if err := emit(contracts.EmailChanged{UserID: acct.ID, OldEmail: acct.Email, NewEmail: newEmail}); err != nil {
			return err
		}
		return emit(contracts.EmailConfirmed{UserID: acct.ID, Email: newEmail})
	})
	if errors.Is(err, store.ErrDuplicateEmail) {
		return ErrEmailTaken
	}
	return err
}

// rotateStamp gives the user a new security stamp inside tx: every session
// but keepSession ends, and keepSession ("" for none) moves to the new
// stamp so it stays signed in.
func (s *Service) rotateStamp(ctx context.Context, tx *sql.Tx, userID, keepSession string) error {
	stamp, err := s.Store.RotateStamp(ctx, tx, userID)
	if err != nil {
		return err
	}
	return s.Sessions.EndOthers(ctx, tx, userID, keepSession, stamp)
}
