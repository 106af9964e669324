package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

// Audit actions written by the admin operations.
const (
	ActionEmailReverificationForced = "email.reverification_forced"
	ActionPhoneReverificationForced = "phone.reverification_forced"
	ActionUserLocked                = "user.locked"
	ActionUserUnlocked              = "user.unlocked"
)

// likeEscaper makes user input literal inside a LIKE pattern (ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// searchWhere builds the WHERE clause of an admin search: query, lower-cased,
// is a substring of the email, the display name or the phone number. When
// the query holds digits and other characters ("(415) 555-0132"), its
// digits alone are also matched against the E.164 number.
func searchWhere(query string) (string, []any) {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return "", nil
	}
	cond := `u.normalized_email LIKE $1 ESCAPE '\' OR LOWER(u.display_name) LIKE $1 ESCAPE '\' OR COALESCE(u.phone_number, '') LIKE $1 ESCAPE '\'`
	args := []any{"%" + likeEscaper.Replace(q) + "%"}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, q)
	if len(digits) >= 3 && digits != q {
		cond += ` OR COALESCE(u.phone_number, '') LIKE $2`
		args = append(args, "%"+digits+"%")
	}
	return " WHERE " + cond, args
}

// SearchAccounts returns up to limit users matching query (see searchWhere),
// newest first, skipping offset, with their roles, and the total number of
// matches.
func (s *Store) SearchAccounts(ctx context.Context, query string, limit, offset int) ([]contracts.User, int, error) {
	where, args := searchWhere(query)
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM users u`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	n := len(args)
	rows, err := s.DB.QueryContext(ctx, `SELECT `+accountColumns+` FROM users u`+where+
		fmt.Sprintf(` ORDER BY u.created_at DESC, u.id LIMIT $%d OFFSET $%d`, n+1, n+2), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search users: %w", err)
	}
	defer rows.Close()
	var users []contracts.User
	index := map[string]int{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("search users: %w", err)
		}
		index[a.ID] = len(users)
		users = append(users, a.User)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search users: %w", err)
	}
	if err := s.loadPageRoles(ctx, users, index); err != nil {
		return nil, 0, err
	}
	return users, total, nil
}

// loadPageRoles fills in the roles of users with one query.
func (s *Store) loadPageRoles(ctx context.Context, users []contracts.User, index map[string]int) error {
	if len(users) == 0 {
		return nil
	}
	marks := make([]string, len(users))
	ids := make([]any, len(users))
	for i, u := range users {
		marks[i] = fmt.Sprintf("$%d", i+1)
		ids[i] = u.ID
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT user_id, role FROM user_roles WHERE user_id IN (`+strings.Join(marks, ", ")+`) ORDER BY role`, ids...)
	if err != nil {
		return fmt.Errorf("load roles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, role string
		if err := rows.Scan(&id, &role); err != nil {
			return fmt.Errorf("load roles: %w", err)
		}
		i := index[id]
		users[i].Roles = append(users[i].Roles, role)
	}
	return rows.Err()
}

// ForceEmailReverification marks the user's email unverified and records
// the admin as actor, in one transaction, and emits EmailReverificationForced.
func (s *Store) ForceEmailReverification(ctx context.Context, actorID, userID, clientIP string) error {
	var before Account
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		var err error
		if before, err = s.accountWhere(ctx, tx, "u.id = $1", userID); err != nil {
			return err
		}
		if !before.EmailConfirmed {
			return contracts.ErrAlreadyUnverified
		}
		// Guarded so a concurrent change is never overwritten blindly.
		res, err := tx.ExecContext(ctx, `UPDATE users SET email_confirmed = FALSE WHERE id = $1 AND normalized_email = $2 AND email_confirmed = TRUE`,
			userID, NormalizeEmail(before.Email))
		if err != nil {
			return fmt.Errorf("force email re-verification: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return contracts.ErrAlreadyUnverified
		}
		if err := s.WriteAudit(ctx, tx, Audit{ActorID: actorID, SubjectID: userID, Action: ActionEmailReverificationForced, Detail: before.Email, ClientIP: clientIP}); err != nil {
			return err
		}
		return emit(contracts.EmailReverificationForced{UserID: userID, ActorID: actorID, Email: before.Email})
	})
	return err
}

// ForcePhoneReverification marks the user's phone number unverified,
// keeping the number, withdraws any pending code (a code sent before the
// admin acted must not restore the badge) and records the admin as actor,
// in one transaction, and emits PhoneReverificationForced.
func (s *Store) ForcePhoneReverification(ctx context.Context, actorID, userID, clientIP string) error {
	var before Account
	err := s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		// The same lock a code confirmation takes, so the two cannot interleave.
		if err := s.lockKeys(ctx, tx, "user:"+userID); err != nil {
			return err
		}
		var err error
		if before, err = s.accountWhere(ctx, tx, "u.id = $1", userID); err != nil {
			return err
		}
		switch {
		case before.PhoneNumber == "":
			return contracts.ErrNoPhoneNumber
		case !before.PhoneNumberConfirmed:
			return contracts.ErrAlreadyUnverified
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET phone_number_confirmed = FALSE WHERE id = $1 AND phone_number = $2 AND phone_number_confirmed = TRUE`,
			userID, before.PhoneNumber)
		if err != nil {
			return fmt.Errorf("force phone re-verification: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return contracts.ErrAlreadyUnverified
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM phone_codes WHERE user_id = $1 AND purpose = $2`, userID, PurposePhoneVerification); err != nil {
			return fmt.Errorf("withdraw pending code: %w", err)
		}
		if err := s.WriteAudit(ctx, tx, Audit{ActorID: actorID, SubjectID: userID, Action: ActionPhoneReverificationForced, Detail: before.PhoneNumber, ClientIP: clientIP}); err != nil {
			return err
		}
		return emit(contracts.PhoneReverificationForced{UserID: userID, ActorID: actorID, PhoneNumber: before.PhoneNumber})
	})
	return err
}

// LockAccount sets locked_by_admin, ends every session of the user and
// records the admin as actor, in one transaction. Locking yourself is
// refused, so the last admin cannot shut themselves out by mistake.
func (s *Store) LockAccount(ctx context.Context, actorID, userID, clientIP string) error {
	if actorID == userID {
		return contracts.ErrSelfLock
	}
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		a, err := s.accountWhere(ctx, tx, "u.id = $1", userID)
		if err != nil {
			return err
		}
		if a.LockedByAdmin {
			return contracts.ErrAlreadyLocked
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET locked_by_admin = TRUE WHERE id = $1 AND locked_by_admin = FALSE`, userID)
		if err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return contracts.ErrAlreadyLocked
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		ended, _ := res.RowsAffected()
		if err := s.WriteAudit(ctx, tx, Audit{ActorID: actorID, SubjectID: userID, Action: ActionUserLocked,
			Detail: fmt.Sprintf("%d session(s) ended", ended), ClientIP: clientIP}); err != nil {
			return err
		}
		return emit(contracts.UserLocked{UserID: userID, ActorID: actorID})
	})
}

// UnlockAccount clears locked_by_admin, any sign-in lockout and the failure
// count, and records the admin as actor, in one transaction.
func (s *Store) UnlockAccount(ctx context.Context, actorID, userID, clientIP string) error {
	now := s.Clock.Now()
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		a, err := s.accountWhere(ctx, tx, "u.id = $1", userID)
		if err != nil {
			return err
		}
		lockedOut := a.LockoutEnd.After(now)
		if !a.LockedByAdmin && !lockedOut {
			return contracts.ErrNotLocked
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET locked_by_admin = FALSE, lockout_end = NULL, failed_sign_ins = 0 WHERE id = $1`, userID); err != nil {
			return fmt.Errorf("unlock account: %w", err)
		}
		var lifted []string
		if a.LockedByAdmin {
			lifted = append(lifted, "admin lock")
		}
		if lockedOut {
			lifted = append(lifted, "sign-in lockout")
		}
		if err := s.WriteAudit(ctx, tx, Audit{ActorID: actorID, SubjectID: userID, Action: ActionUserUnlocked,
			Detail: strings.Join(lifted, ", ") + " lifted", ClientIP: clientIP}); err != nil {
			return err
		}
		return emit(contracts.UserUnlocked{UserID: userID, ActorID: actorID})
	})
}
