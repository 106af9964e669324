package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// PhoneChange describes what SaveProfile did to the phone number.
type PhoneChange struct {
	Changed   bool
	OldNumber string
	NewNumber string
}

// SaveProfile stores the display name and the phone number (E.164, or "" to
// clear it) in one transaction. A changed number is stored UNVERIFIED; the
// same number keeps its status. This is
// the only path that changes a number without a code, so it always resets
// the confirmation (SPEC §1 step 5). It emits PhoneNumberChanged or
// PhoneNumberRemoved.
func (s *Store) SaveProfile(ctx context.Context, userID, displayName, number string, audit Audit) (PhoneChange, error) {
	var ch PhoneChange
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// The lock code confirmation takes: the two never interleave, so the
		// "old number" each reports is the one it replaced.
		if err := s.lockKeys(ctx, tx, "user:"+userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET display_name = $2 WHERE id = $1`, userID, displayName); err != nil {
			return fmt.Errorf("set display name: %w", err)
		}
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
		if err := s.WriteAudit(ctx, tx, audit); err != nil {
			return err
		}
		if number == "" {
			return emit(contracts.PhoneNumberRemoved{UserID: userID, OldNumber: ch.OldNumber})
		}
		return emit(contracts.PhoneNumberChanged{UserID: userID, OldNumber: ch.OldNumber, NewNumber: number})
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
