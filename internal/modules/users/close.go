package users

import "context"

// Close writes the sessions' pending last-seen times and stops their
// background writer. Call it before closing the database.
func (m *Module) Close(ctx context.Context) error { return m.accounts.Sessions.Close(ctx) }
