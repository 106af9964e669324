package account

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// ActionUserDeleted is the audit action of an account deletion, recorded
// under the account's pseudonym.
const ActionUserDeleted = "user.deleted"

// keptAuditDetails are the audit actions whose detail names no email
// address or phone number, so it stays when the account is deleted; every
// other detail about the account is cleared. A list of what may stay,
// rather than of what must go, so an action added later loses its detail
// until someone decides otherwise.
var keptAuditDetails = []string{"signin.locked_out", ActionUserLocked, ActionUserUnlocked, "role.granted", "role.revoked", "user.created"}

// pseudonymPrefix starts the id that replaces a deleted account's id in
// the audit log.
const pseudonymPrefix = "deleted:"

// Pseudonym is the id a deleted account's audit rows keep instead of its
// own: "deleted:" and an HMAC of the id under a key derived from the app
// secret. The same account always gets the same pseudonym, so its trail
// still reads as one person's, but without the secret nobody can tell
// whose it was, and the id alone no longer leads to it.
func (s *Service) Pseudonym(userID string) string {
	// CodeKey is the service's one key from the app secret; a key derived
	// from it for another purpose is as independent as one derived from the
	// secret itself.
	m := hmac.New(sha256.New, secrets.Derive(s.CodeKey, "deleted account pseudonyms"))
	m.Write([]byte(userID))
	return pseudonymPrefix + hex.EncodeToString(m.Sum(nil)[:16])
}

// DeleteAccount deletes the signed-in user's own account once password is
// confirmed; wrong passwords count towards the sign-in lockout, as when
// changing the password. See deleteAccount for what goes and what stays.
// Errors: ErrWrongPassword, a ThrottledError, contracts.ErrLastAdmin.
func (s *Service) DeleteAccount(ctx context.Context, userID, password string, c Client) error {
	acct, err := s.Store.AccountByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, acct, password, c); err != nil {
		return err
	}
	return s.deleteAccount(ctx, userID, userID, c)
}

// DeleteByAdmin deletes userID's account on an administrator's behalf.
// Errors: contracts.ErrSelf (an administrator deletes their own account
// from their account page, with their password), contracts.ErrLastAdmin,
// ErrNotFound.
func (s *Service) DeleteByAdmin(ctx context.Context, actorID, userID string, c Client) error {
	if actorID == userID {
		return contracts.ErrSelf
	}
	return s.deleteAccount(ctx, actorID, userID, c)
}

// deleteAccount deletes the account in one transaction: every row keyed by
// it (sessions, so every device is signed out at once; links, phone codes
// and failures, roles, the account) and every message kept for its
// addresses. The audit rows stay, for the security of the service and of
// whoever else they concern, with the account's id replaced by its
// pseudonym and any detail naming an address or number cleared; a last
// row records the deletion. AccountDeleted is emitted inside the
// transaction, so the notice to a confirmed address commits with it. The
// last administrator's account is never deleted: the service would have
// nobody left to run it.
func (s *Service) deleteAccount(ctx context.Context, actorID, userID string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// Taken before anything is read, so the count holds until commit.
		if err := s.Store.LockAdminRole(ctx, tx); err != nil {
			return err
		}
		admins, err := s.Store.CountRole(ctx, tx, contracts.RoleAdmin)
		if err != nil {
			return err
		}
		// The lock every change to the user's row takes (a sign-in racing
		// the deletion then finds no account rather than writing a session
		// for one that is going).
		if err := s.Store.LockPhone(ctx, tx, userID); err != nil {
			return err
		}
		acct, err := s.Store.AccountTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		if acct.HasRole(contracts.RoleAdmin) && admins <= 1 {
			return contracts.ErrLastAdmin
		}
		person, err := s.messagesOf(ctx, tx, userID)
		if err != nil {
			return err
		}
		if _, err := s.Outbox.Forget(ctx, tx, person); err != nil {
			return err
		}
		if err := s.Store.DeleteAccount(ctx, tx, userID); err != nil {
			return err
		}
		pseudonym := s.Pseudonym(userID)
		if err := s.Store.PseudonymiseAudit(ctx, tx, userID, pseudonym, keptAuditDetails); err != nil {
			return err
		}
		actor, detail := actorID, "by an administrator"
		if actorID == userID {
			actor, detail = pseudonym, "by the account's owner"
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: actor, SubjectID: pseudonym, Action: ActionUserDeleted, Detail: detail, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.AccountDeleted{UserID: userID, Email: acct.Email, EmailConfirmed: acct.EmailConfirmed, ActorID: actorID})
	})
}

// messagesOf names the user's messages in the outbox: those grouped under
// the user's id, and those addressed to the user's addresses and numbers,
// except an address another account now holds (a number can pass from
// one person to another), whose messages are that account's.
func (s *Service) messagesOf(ctx context.Context, q store.Queryer, userID string) (outbox.Person, error) {
	addrs, err := s.Store.Addresses(ctx, q, userID)
	if err != nil {
		return outbox.Person{}, err
	}
	p := outbox.Person{Refs: []string{phoneRef(userID)}}
	for _, a := range addrs {
		held, err := s.Store.HeldByAnother(ctx, q, userID, a)
		if err != nil {
			return outbox.Person{}, err
		}
		if !held {
			p.Addresses = append(p.Addresses, a)
		}
	}
	return p, nil
}
