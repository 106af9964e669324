package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
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
	ids := make([]any, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT user_id, role FROM user_roles WHERE user_id IN (`+database.Placeholders(1, len(ids))+`) ORDER BY role`, ids...)
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

// UnconfirmEmail marks email unverified inside q, only while it is still
// the user's confirmed address; false means nothing changed.
func (s *Store) UnconfirmEmail(ctx context.Context, q Queryer, userID, email string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE users SET email_confirmed = FALSE WHERE id = $1 AND normalized_email = $2 AND email_confirmed = TRUE`,
		userID, NormalizeEmail(email))
	if err != nil {
		return false, fmt.Errorf("unconfirm email: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SetLockedByAdmin locks the account inside q; false means it already was.
func (s *Store) SetLockedByAdmin(ctx context.Context, q Queryer, userID string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE users SET locked_by_admin = TRUE WHERE id = $1 AND locked_by_admin = FALSE`, userID)
	if err != nil {
		return false, fmt.Errorf("lock account: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Unlock clears an admin lock, any sign-in lockout and the failure count
// inside q.
func (s *Store) Unlock(ctx context.Context, q Queryer, userID string) error {
	if _, err := q.ExecContext(ctx, `UPDATE users SET locked_by_admin = FALSE, lockout_end = NULL, failed_sign_ins = 0 WHERE id = $1`, userID); err != nil {
		return fmt.Errorf("unlock account: %w", err)
	}
	return nil
}
