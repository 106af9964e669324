package account

import (
	"context"
	"database/sql"
	"errors"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// Audit actions of role changes.
const (
	ActionRoleGranted = "role.granted"
	ActionRoleRevoked = "role.revoked"
)

// ErrRoleUnchanged: the user already is (when granting) or is not (when
// revoking) in the role; nothing was changed, audited or emitted.
var ErrRoleUnchanged = errors.New("role unchanged")

// SetAdmin grants (grant) or revokes the Admin role of userID, with actorID
// as actor (empty: the command line), writes the audit row and emits
// RoleChanged. Nobody changes their own role, and the last administrator
// keeps theirs, so the application always has someone who can manage it.
// The user's sessions stay: the roles are read on every request, so the
// change applies at once. Errors: ErrNotFound, contracts.ErrSelf,
// contracts.ErrLastAdmin, ErrRoleUnchanged.
func (s *Service) SetAdmin(ctx context.Context, actorID, userID string, grant bool, c Client) error {
	if actorID != "" && actorID == userID {
		return contracts.ErrSelf
	}
	const role = contracts.RoleAdmin
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// Taken before anything is read, so the count below holds until commit.
		if err := s.Store.LockAdminRole(ctx, tx); err != nil {
			return err
		}
		a, err := s.Store.AccountTx(ctx, tx, userID)
		if err != nil {
			return err
		}
		if a.HasRole(role) == grant {
			return ErrRoleUnchanged
		}
		action := ActionRoleGranted
		if grant {
			if _, err := s.Store.AddRole(ctx, tx, userID, role); err != nil {
				return err
			}
		} else {
			action = ActionRoleRevoked
			admins, err := s.Store.CountRole(ctx, tx, role)
			if err != nil {
				return err
			}
			if admins <= 1 {
				return contracts.ErrLastAdmin
			}
			if _, err := s.Store.RemoveRole(ctx, tx, userID, role); err != nil {
				return err
			}
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: actorID, SubjectID: userID, Action: action, Detail: role, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.RoleChanged{UserID: userID, ActorID: actorID, Role: role, Granted: grant})
	})
}
