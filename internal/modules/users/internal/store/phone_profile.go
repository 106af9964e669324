package store

import (
	"context"
	"database/sql"
	"fmt"
)

// PhoneChange describes what SetPhoneNumber did.
type PhoneChange struct {
	Changed   bool
	OldNumber string
	NewNumber string
}

// SetPhoneNumber stores number (E.164, or "" to clear it) as UNVERIFIED,
// unless it equals the stored number, which then keeps its status. This is
// the only path that changes a number without a code, so it always resets
// the confirmation (SPEC §1 step 5).
func (s *Store) SetPhoneNumber(ctx context.Context, userID, number string, audit Audit) (PhoneChange, error) {
	var ch PhoneChange
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var old sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT phone_number FROM users WHERE id = $1`, userID).Scan(&old); err != nil {
			return fmt.Errorf("read phone number: %w", err)
		}
		ch = PhoneChange{OldNumber: old.String, NewNumber: number}
		if old.String == number {
			return nil
		}
		ch.Changed = true
		var v sql.NullString
		if number != "" {
			v = sql.NullString{String: number, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET phone_number = $2, phone_number_confirmed = FALSE WHERE id = $1`, userID, v); err != nil {
			return fmt.Errorf("set phone number: %w", err)
		}
		audit.SubjectID = userID
		if audit.Detail == "" {
			audit.Detail = describeChange(ch.OldNumber, number)
		}
		return s.WriteAudit(ctx, tx, audit)
	})
	return ch, err
}

func describeChange(old, new string) string {
	if old == "" {
		old = "none"
	}
	if new == "" {
		new = "none"
	}
	return old + " → " + new
}
