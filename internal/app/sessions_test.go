package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// Expired sessions stop working and are removed from the table at the next sign-in.
func TestExpiredSessionsAreDropped(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		old := e.NewClient()
		old.Register("sam@example.com", "password123")
		e.Clock.Advance(13 * time.Hour) // past the 12 h browser-session lifetime
		if res := old.Get("/account/manage"); res.Status != http.StatusSeeOther {
			t.Errorf("expired session: got %d, want 303 to sign in", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM sessions`); n != 1 {
			t.Fatalf("sessions before the next sign-in: got %d, want 1", n)
		}
		e.NewClient().Login("sam@example.com", "password123")
		if n := e.Count(`SELECT COUNT(*) FROM sessions`); n != 1 {
			t.Errorf("sessions after signing in again: got %d, want 1 (the new one)", n)
		}
	})
}
