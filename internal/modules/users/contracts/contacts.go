package contracts

import (
	"context"
	"database/sql"
)

// Contacts tells other modules how to reach a user. ContactTx reads inside
// the caller's transaction — the one an event subscribed with
// events.Bus.SubscribeTx runs in — so it sees the change being made and
// needs no second connection.
type Contacts interface {
	ContactTx(ctx context.Context, tx *sql.Tx, userID string) (email string, confirmed bool, err error)
}
