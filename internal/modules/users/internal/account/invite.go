package account

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// Invitations: an administrator creates an account and its owner chooses
// the password through an emailed link.
const (
	purposeInvitation = "invitation"
	// invitationTTL is how long an invitation link works: long enough for
	// someone who is away for a few days, short enough that a forgotten
	// mailbox does not hold a way in for ever.
	invitationTTL = 7 * 24 * time.Hour

	ActionUserInvited        = "user.invited"
	ActionInvitationAccepted = "user.invitation_accepted"
)

// Invite creates an account for addr on an administrator's behalf (actorID)
// and emails it a single-use link, valid 7 days, to choose a password. The
// account has a random password nobody knows, so it cannot be signed in to
// until the link is used; the address counts as confirmed once it is, since
// only its owner received the link. The account, its roles, the token, the
// email, the audit row (user.invited, the admin as actor) and the
// UserInvited event commit together. Errors: an InputError,
// contracts.ErrEmailTaken.
func (s *Service) Invite(ctx context.Context, actorID, addr, displayName string, admin bool, c Client) (store.Account, error) {
	addr, displayName = strings.TrimSpace(addr), strings.TrimSpace(displayName)
	if err := checkEmail(addr); err != nil {
		return store.Account{}, err
	}
	if len([]rune(displayName)) > maxDisplayNameLen {
		return store.Account{}, invalid("Use a display name of at most 100 characters.")
	}
	var roles []string
	if admin {
		roles = []string{contracts.RoleAdmin}
	}
	// Hashed before the transaction (argon2id is slow, SQLite's write lock
	// is held for a transaction's whole life); the secret is thrown away.
	acct := s.Store.NewAccount(addr, s.hashPassword(secrets.Token(32)), false, roles)
	acct.DisplayName = displayName
	detail := acct.Email
	if admin {
		detail += " (administrator)"
	}
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.InsertAccount(ctx, tx, acct); err != nil {
			return err
		}
		if displayName != "" {
			if err := s.Store.SetDisplayName(ctx, tx, acct.ID, displayName); err != nil {
				return err
			}
		}
		a := audit{ActorID: actorID, SubjectID: acct.ID, Action: ActionUserInvited, Detail: detail, ClientIP: c.IP}
		if err := s.mailLinkTx(ctx, tx, linkMail{UserID: acct.ID, To: acct.Email, Purpose: purposeInvitation, Target: store.NormalizeEmail(acct.Email),
			TTL: invitationTTL, Path: "/account/invitation", Template: mailInvitation, Audit: &a}); err != nil {
			return err
		}
		return emit(contracts.UserInvited{UserID: acct.ID, ActorID: actorID, Email: acct.Email, Admin: admin})
	})
	if errors.Is(err, store.ErrDuplicateEmail) {
		return store.Account{}, contracts.ErrEmailTaken
	}
	if err != nil {
		return store.Account{}, err
	}
	return acct, nil
}

// CheckInvitation reports whether code is a live invitation link of
// userID: nil, or ErrTokenInvalid, ErrTokenUsed or ErrTokenExpired. It
// consumes nothing; the page uses it to say at once that a link is dead.
func (s *Service) CheckInvitation(ctx context.Context, userID, code string) error {
	acct, err := s.Store.AccountByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrTokenInvalid
	}
	if err != nil {
		return err
	}
	return s.Store.CheckToken(ctx, s.Store.DB, acct.ID, purposeInvitation, store.NormalizeEmail(acct.Email), code)
}

// AcceptInvitation consumes an invitation link, sets the chosen password,
// confirms the email address (the link reached it) and signs the user in
// (ending the browser's previous session, oldToken, if any). Like a reset
// link, the token is checked before the password is checked or hashed,
// and consumed inside the change's transaction, so it works once however
// many requests race for it. Errors: the token errors, an InputError,
// ErrLockedOut when the account was locked meanwhile.
func (s *Service) AcceptInvitation(ctx context.Context, userID, code, newPW, confirm, oldToken string, c Client) (NewSession, error) {
	acct, err := s.Store.AccountByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return NewSession{}, ErrTokenInvalid
	}
	if err != nil {
		return NewSession{}, err
	}
	target := store.NormalizeEmail(acct.Email)
	if err := s.Store.CheckToken(ctx, s.Store.DB, acct.ID, purposeInvitation, target, code); err != nil {
		return NewSession{}, err
	}
	if err := checkNewPassword(newPW, confirm, acct.Email); err != nil {
		return NewSession{}, err
	}
	hash := s.hashPassword(newPW)
	err = s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if err := s.Store.ConsumeToken(ctx, tx, acct.ID, purposeInvitation, target, code); err != nil {
			return err
		}
		if err := s.Store.SetPasswordHash(ctx, tx, acct.ID, hash); err != nil {
			return err
		}
		// A credential change like any other: sessions from before end,
		// and the new one starts under the new stamp.
		stamp, err := s.Store.RotateStamp(ctx, tx, acct.ID)
		if err != nil {
			return err
		}
		acct.SecurityStamp = stamp
		if _, err := s.Sessions.DeleteAll(ctx, tx, acct.ID); err != nil {
			return err
		}
		if err := s.Store.SetEmailConfirmed(ctx, tx, acct.ID); err != nil {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: acct.ID, SubjectID: acct.ID, Action: ActionInvitationAccepted, Detail: acct.Email, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.EmailConfirmed{UserID: acct.ID, Email: acct.Email})
	})
	if err != nil {
		return NewSession{}, err
	}
	if oldToken != "" {
		if err := s.Sessions.Delete(ctx, s.Store.DB, secrets.Hash(oldToken)); err != nil {
			return NewSession{}, err
		}
	}
	return s.startSession(context.WithoutCancel(ctx), acct, false, false, c)
}
