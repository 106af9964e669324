package account

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
)

// ChangePassword checks the current password, stores the new one and ends
// the user's other sessions; keepSession stays signed in. Errors: an
// InputError, ErrWrongPassword, or a ThrottledError.
func (s *Service) ChangePassword(ctx context.Context, userID, current, newPW, confirm, keepSession string, c Client) error {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := checkNewPassword(newPW, confirm, acct.Email); err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, acct, current, c); err != nil {
		return err
	}
	// Hash before the transaction: SQLite holds its write lock for a
	// transaction's whole life, and argon2id takes tens of milliseconds.
	hash := s.hashPassword(newPW)
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.SetPasswordHash(ctx, tx, userID, hash); err != nil {
			return err
		}
		if err := s.rotateStamp(ctx, tx, userID, keepSession); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: "password.changed", ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.PasswordChanged{UserID: userID})
	})
}

// ForgotPassword emails a reset link when the account exists, at most one
// per account per cooldown. It says nothing about which held, so the form
// can neither find accounts, flood an inbox, nor keep replacing the
// owner's link; only an invalid address is an error.
func (s *Service) ForgotPassword(ctx context.Context, addr string, c Client) error {
	if err := checkEmail(addr); err != nil {
		return err
	}
	acct, err := s.Store.AccountByEmail(ctx, addr)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	wait, err := s.cooldown(ctx, acct.ID, purposeReset)
	if err != nil || wait > 0 {
		return err
	}
	return s.sendPasswordReset(ctx, acct, audit{ActorID: acct.ID, ClientIP: c.IP})
}

// SendPasswordReset emails the user a reset link on an admin's behalf.
func (s *Service) SendPasswordReset(ctx context.Context, actorID, userID string, c Client) error {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return err
	}
	return s.sendPasswordReset(ctx, acct, audit{ActorID: actorID, ClientIP: c.IP})
}

// sendPasswordReset issues a reset link and queues the email, with an
// audit row ("password.reset_sent", actor from a), in one transaction.
func (s *Service) sendPasswordReset(ctx context.Context, acct store.Account, a audit) error {
	a.SubjectID, a.Action = acct.ID, "password.reset_sent"
	return s.mailLink(ctx, linkMail{UserID: acct.ID, To: acct.Email, Purpose: purposeReset, Target: acct.Email,
		TTL: passwordResetTTL, Path: "/account/reset-password", Template: mailResetPassword, Audit: &a})
}

// passwordResetWindow is the window of the per-network cap on reset
// submissions (Policy.PasswordResetsPerIP).
const passwordResetWindow = 15 * time.Minute

// ResetPassword consumes a reset link's token and sets the new password;
// every session of the user ends. Errors: a ThrottledError, the token
// errors, an InputError.
//
// The form is anonymous and argon2id is deliberately slow, so nothing
// expensive happens before the link is known to be live: each network
// gets PasswordResetsPerIP submissions per window, the token is read
// (not consumed) before the new password is checked or hashed, and only
// then consumed inside the change's transaction, where a guarded update
// keeps it single-use however many requests race for it.
func (s *Service) ResetPassword(ctx context.Context, userID, code, newPW, confirm string, c Client) error {
	wait, err := s.Limits.Take(context.WithoutCancel(ctx), "reset-password", c.RateKey, s.Policy.PasswordResetsPerIP, passwordResetWindow)
	if err != nil {
		return err
	}
	if wait > 0 {
		return throttled(ReasonPasswordResets, wait)
	}
	acct, err := s.Store.AccountByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrTokenInvalid
	}
	if err != nil {
		return err
	}
	if err := s.Store.CheckToken(ctx, s.Store.DB, acct.ID, purposeReset, acct.Email, code); err != nil {
		return err
	}
	if err := checkNewPassword(newPW, confirm, acct.Email); err != nil {
		return err
	}
	hash := s.hashPassword(newPW)
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.ConsumeToken(ctx, tx, acct.ID, purposeReset, acct.Email, code); err != nil {
			return err
		}
		if err := s.Store.SetPasswordHash(ctx, tx, acct.ID, hash); err != nil {
			return err
		}
		if err := s.rotateStamp(ctx, tx, acct.ID, ""); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: acct.ID, SubjectID: acct.ID, Action: "password.reset", ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.PasswordChanged{UserID: acct.ID})
	})
}
