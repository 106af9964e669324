package store

import (
	"context"
	"fmt"

	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

// Addresses returns, inside q, every email address and phone number the
// user's rows name: the account's own, a pending change's target, the
// numbers codes went to.
func (s *Store) Addresses(ctx context.Context, q Queryer, userID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT email FROM users WHERE id = $1
		UNION SELECT phone_number FROM users WHERE id = $1 AND phone_number IS NOT NULL
		UNION SELECT target FROM user_tokens WHERE user_id = $1
		UNION SELECT phone_number FROM phone_codes WHERE user_id = $1`, userID)
	if err != nil {
		return nil, fmt.Errorf("addresses of user: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		if a != "" {
			out = append(out, a)
		}
	}
	return out, rows.Err()
}

// HeldByAnother reports, inside q, whether an account other than userID
// has address as its email or phone number.
func (s *Store) HeldByAnother(ctx context.Context, q Queryer, userID, address string) (bool, error) {
	var held bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id <> $1 AND (normalized_email = $2 OR phone_number = $3))`,
		userID, NormalizeEmail(address), address).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("address held by another account: %w", err)
	}
	return held, nil
}

// DeleteAccount deletes, inside tx, every row keyed by the user: sessions,
// links, phone codes and failures, roles and the account itself. Audit
// rows are the caller's to pseudonymise (PseudonymiseAudit). Deleting an
// account that is not there is ErrNotFound.
func (s *Store) DeleteAccount(ctx context.Context, tx Queryer, userID string) error {
	for _, table := range []string{"sessions", "user_tokens", "phone_codes", "phone_failures", "recovery_codes", "user_roles"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID); err != nil {
			return fmt.Errorf("delete account: %s: %w", table, err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, userID)
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// PseudonymiseAudit replaces, inside tx, the user's id by pseudonym in
// every audit row, as subject and as actor, and clears the detail of the
// rows about the user except for the actions in keepDetail (details that
// name no address or number).
func (s *Store) PseudonymiseAudit(ctx context.Context, tx Queryer, userID, pseudonym string, keepDetail []string) error {
	args := []any{userID, pseudonym}
	keep := "FALSE"
	if len(keepDetail) > 0 {
		keep = "action IN (" + database.Placeholders(len(args)+1, len(keepDetail)) + ")"
		for _, a := range keepDetail {
			args = append(args, a)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET subject_id = $2, detail = CASE WHEN `+keep+` THEN detail ELSE '' END
		WHERE subject_id = $1`, args...); err != nil {
		return fmt.Errorf("pseudonymise audit subject: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET actor_id = $2 WHERE actor_id = $1`, userID, pseudonym); err != nil {
		return fmt.Errorf("pseudonymise audit actor: %w", err)
	}
	return nil
}
