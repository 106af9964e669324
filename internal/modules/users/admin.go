package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
)

// maxPerPage bounds one page of the admin user list.
const maxPerPage = 100

// Admin returns the operations the Admin module may use on accounts.
func (m *Module) Admin() contracts.Admin { return adminService{m: m} }

// adminService implements contracts.Admin over the module's store, bus and
// email sender.
type adminService struct{ m *Module }

var _ contracts.Admin = adminService{}

// adminErr turns store errors into the contract's errors.
func adminErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return contracts.ErrNotFound
	case errors.Is(err, contracts.ErrSelfLock), errors.Is(err, contracts.ErrNoPhoneNumber),
		errors.Is(err, contracts.ErrSelf), errors.Is(err, contracts.ErrLastAdmin), errors.Is(err, contracts.ErrEmailTaken),
		errors.Is(err, contracts.ErrAlreadyUnverified), errors.Is(err, contracts.ErrAlreadyLocked),
		errors.Is(err, contracts.ErrNotLocked):
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (s adminService) List(ctx context.Context, query string, page, perPage int) ([]contracts.User, int, error) {
	perPage = min(max(perPage, 1), maxPerPage)
	// A page past any plausible table size would overflow the offset.
	page = min(max(page, 1), 1_000_000)
	users, total, err := s.m.store.SearchAccounts(ctx, query, perPage, (page-1)*perPage)
	return users, total, adminErr("list users", err)
}

func (s adminService) Get(ctx context.Context, id string) (contracts.User, error) {
	a, err := s.m.store.AccountByID(ctx, id)
	if err != nil {
		return contracts.User{}, adminErr("get user", err)
	}
	return a.User, nil
}

func (s adminService) ForceEmailReverification(ctx context.Context, actorID, userID, clientIP string) error {
	if err := s.m.accounts.ForceEmailReverification(ctx, actorID, userID, account.Client{IP: clientIP}); err != nil {
		return adminErr("force email re-verification", err)
	}
	return nil
}

func (s adminService) ForcePhoneReverification(ctx context.Context, actorID, userID, clientIP string) error {
	if err := s.m.accounts.ForcePhoneReverification(ctx, actorID, userID, account.Client{IP: clientIP}); err != nil {
		return adminErr("force phone re-verification", err)
	}
	return nil
}

func (s adminService) Lock(ctx context.Context, actorID, userID, clientIP string) error {
	if err := s.m.accounts.Lock(ctx, actorID, userID, account.Client{IP: clientIP}); err != nil {
		return adminErr("lock user", err)
	}
	return nil
}

func (s adminService) Unlock(ctx context.Context, actorID, userID, clientIP string) error {
	if err := s.m.accounts.Unlock(ctx, actorID, userID, account.Client{IP: clientIP}); err != nil {
		return adminErr("unlock user", err)
	}
	return nil
}

func (s adminService) SendPasswordReset(ctx context.Context, actorID, userID, clientIP string) error {
	if err := s.m.accounts.SendPasswordReset(ctx, actorID, userID, account.Client{IP: clientIP}); err != nil {
		return adminErr("send password reset", err)
	}
	return nil
}

func (s adminService) AuditTrail(ctx context.Context, userID string, limit, offset int) ([]contracts.AuditEntry, error) {
	rows, err := s.m.store.AuditTrail(ctx, userID, min(max(limit, 1), maxPerPage+1), max(offset, 0))
	if err != nil {
		return nil, err
	}
	out := make([]contracts.AuditEntry, len(rows))
	for i, e := range rows {
		out[i] = contracts.AuditEntry(e)
	}
	return out, nil
}

func (s adminService) Sessions(ctx context.Context, userID string) ([]contracts.Session, error) {
	if _, err := s.m.store.AccountByID(ctx, userID); err != nil {
		return nil, adminErr("list sessions", err)
	}
	list, err := s.m.accounts.ListSessions(ctx, userID, "")
	return list, adminErr("list sessions", err)
}

func (s adminService) SignOutEverywhere(ctx context.Context, actorID, userID, clientIP string) error {
	if err := s.m.accounts.SignOutEverywhere(ctx, actorID, userID, account.Client{IP: clientIP}); err != nil {
		return adminErr("sign out everywhere", err)
	}
	return nil
}

// SetAdmin grants or revokes the Admin role; asking for the state the user
// is already in succeeds without a change (the page shows the state asked for).
func (s adminService) SetAdmin(ctx context.Context, actorID, userID string, grant bool, clientIP string) error {
	err := s.m.accounts.SetAdmin(ctx, actorID, userID, grant, account.Client{IP: clientIP})
	if errors.Is(err, account.ErrRoleUnchanged) {
		return nil
	}
	return adminErr("set admin role", err)
}

func (s adminService) Invite(ctx context.Context, actorID, email, displayName string, admin bool, clientIP string) (contracts.User, error) {
	a, err := s.m.accounts.Invite(ctx, actorID, email, displayName, admin, account.Client{IP: clientIP})
	var in *account.InputError
	if errors.As(err, &in) {
		return contracts.User{}, inviteInputError{in.Message}
	}
	if err != nil {
		return contracts.User{}, adminErr("invite user", err)
	}
	return a.User, nil
}

// inviteInputError is input the administrator must correct (an address
// that is not valid, a name too long). The Admin module finds it by its
// UserMessage method, without knowing this module's types.
type inviteInputError struct{ msg string }

func (e inviteInputError) Error() string { return e.msg }

// UserMessage says what to correct, in words for the form.
func (e inviteInputError) UserMessage() string { return e.msg }

func (s adminService) Delete(ctx context.Context, actorID, userID, clientIP string) error {
	if err := s.m.accounts.DeleteByAdmin(ctx, actorID, userID, account.Client{IP: clientIP}); err != nil {
		return adminErr("delete user", err)
	}
	return nil
}

// Contacts returns the module's contact look-up for other modules.
func (m *Module) Contacts() contracts.Contacts { return contactService{m: m} }

type contactService struct{ m *Module }

func (c contactService) ContactTx(ctx context.Context, tx *sql.Tx, userID string) (string, bool, error) {
	return c.m.store.Contact(ctx, tx, userID)
}

func (s adminService) TwoFactor(ctx context.Context, userID string) (contracts.TwoFactor, error) {
	st, err := s.m.accounts.TwoFactorStatus(ctx, userID)
	return st, adminErr("two-factor status", err)
}

func (s adminService) DisableTwoFactor(ctx context.Context, actorID, userID, clientIP string) error {
	err := s.m.accounts.AdminDisableTwoFactor(ctx, actorID, userID, account.Client{IP: clientIP})
	if errors.Is(err, contracts.ErrTwoFactorOff) {
		return err
	}
	return adminErr("disable two-factor", err)
}
