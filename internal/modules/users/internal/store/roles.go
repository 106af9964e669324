package store

import (
	"context"
	"fmt"
)

// adminRoleLock names the advisory lock every change to who is an
// administrator takes (see LockAdminRole).
const adminRoleLock = "roles:admin"

// LockAdminRole serialises, inside tx, every transaction that changes who
// holds role or removes a holder (a revocation, an account deletion), so a
// count of its holders stays true until tx ends: two administrators
// demoting each other at once cannot both see "two left". On SQLite the
// IMMEDIATE transaction already does this.
func (s *Store) LockAdminRole(ctx context.Context, tx Queryer) error {
	return s.DB.LockKeys(ctx, tx, adminRoleLock)
}

// CountRole counts the users holding role, inside q.
func (s *Store) CountRole(ctx context.Context, q Queryer, role string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_roles WHERE role = $1`, role).Scan(&n); err != nil {
		return 0, fmt.Errorf("count role %s: %w", role, err)
	}
	return n, nil
}

// AddRole puts the user in role inside q; false means they already were.
func (s *Store) AddRole(ctx context.Context, q Queryer, userID, role string) (bool, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO user_roles (user_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING`, userID, role)
	if err != nil {
		return false, fmt.Errorf("add role %s: %w", role, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RemoveRole takes the user out of role inside q; false means they were
// not in it.
func (s *Store) RemoveRole(ctx context.Context, q Queryer, userID, role string) (bool, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = $1 AND role = $2`, userID, role)
	if err != nil {
		return false, fmt.Errorf("remove role %s: %w", role, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
