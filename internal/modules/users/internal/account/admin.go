package account

import (
	"context"
	"database/sql"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// Audit actions of the admin operations.
const (
	ActionEmailReverificationForced = "email.reverification_forced"
	ActionPhoneReverificationForced = "phone.reverification_forced"
	ActionUserLocked                = "user.locked"
	ActionUserUnlocked              = "user.unlocked"
)

// ForceEmailReverification marks the user's email unverified, with the
// admin as actor, and emits EmailReverificationForced.
// Errors: ErrNotFound, contracts.ErrAlreadyUnverified.
func (s *Service) ForceEmailReverification(ctx context.Context, actorID, userID string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		before, err := s.Store.AccountTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		if !before.EmailConfirmed {
			return contracts.ErrAlreadyUnverified
		}
		// Guarded so a concurrent change is never overwritten blindly.
		if ok, err := s.Store.UnconfirmEmail(ctx, tx, userID, before.Email); err != nil || !ok {
			if err == nil {
				err = contracts.ErrAlreadyUnverified
			}
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: actorID, SubjectID: userID, Action: ActionEmailReverificationForced, Detail: before.Email, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.EmailReverificationForced{UserID: userID, ActorID: actorID, Email: before.Email})
	})
}

// ForcePhoneReverification marks the user's phone number unverified,
// keeping the number, and withdraws any pending code (a code sent before
// the admin acted must not restore the badge), with the admin as actor; it
// emits PhoneReverificationForced. Errors: ErrNotFound,
// contracts.ErrNoPhoneNumber, contracts.ErrAlreadyUnverified.
func (s *Service) ForcePhoneReverification(ctx context.Context, actorID, userID string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// The lock a code confirmation takes, so the two cannot interleave.
		if err := s.Store.LockPhone(ctx, tx, userID); err != nil {
			return err
		}
		before, err := s.Store.AccountTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		switch {
		case before.PhoneNumber == "":
			return contracts.ErrNoPhoneNumber
		case !before.PhoneNumberConfirmed:
			return contracts.ErrAlreadyUnverified
		}
		if ok, err := s.Store.UnconfirmPhoneNumber(ctx, tx, userID, before.PhoneNumber); err != nil || !ok {
			if err == nil {
				err = contracts.ErrAlreadyUnverified
			}
			return err
		}
		if err := s.Store.DeletePhoneCodes(ctx, tx, userID, purposePhone); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: actorID, SubjectID: userID, Action: ActionPhoneReverificationForced, Detail: before.PhoneNumber, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.PhoneReverificationForced{UserID: userID, ActorID: actorID, PhoneNumber: before.PhoneNumber})
	})
}

// Lock stops the user from signing in and ends every session, with the
// admin as actor; it emits UserLocked. Locking yourself is refused, so the
// last admin cannot shut themselves out by mistake. Errors: ErrNotFound,
// contracts.ErrSelfLock, contracts.ErrAlreadyLocked.
func (s *Service) Lock(ctx context.Context, actorID, userID string, c Client) error {
	if actorID == userID {
		return contracts.ErrSelfLock
	}
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		a, err := s.Store.AccountTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		if a.LockedByAdmin {
			return contracts.ErrAlreadyLocked
		}
		if ok, err := s.Store.SetLockedByAdmin(ctx, tx, userID); err != nil || !ok {
			if err == nil {
				err = contracts.ErrAlreadyLocked
			}
			return err
		}
		if err := s.endSessions(ctx, tx, actorID, userID, ActionUserLocked, c); err != nil {
			return err
		}
		return emit(contracts.UserLocked{UserID: userID, ActorID: actorID})
	})
}

// Unlock lifts an admin lock, any sign-in lockout and the failure count,
// with the admin as actor; it emits UserUnlocked. Errors: ErrNotFound,
// contracts.ErrNotLocked.
func (s *Service) Unlock(ctx context.Context, actorID, userID string, c Client) error {
	now := s.Clock.Now()
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		a, err := s.Store.AccountTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		lockedOut := a.LockoutEnd.After(now)
		if !a.LockedByAdmin && !lockedOut {
			return contracts.ErrNotLocked
		}
		if err := s.Store.Unlock(ctx, tx, userID); err != nil {
			return err
		}
		var lifted []string
		if a.LockedByAdmin {
			lifted = append(lifted, "admin lock")
		}
		if lockedOut {
			lifted = append(lifted, "sign-in lockout")
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: actorID, SubjectID: userID, Action: ActionUserUnlocked,
			Detail: strings.Join(lifted, ", ") + " lifted", ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.UserUnlocked{UserID: userID, ActorID: actorID})
	})
}
