package users_test

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
		old.Register("sam@example.com", password)
		e.Clock.Advance(13 * time.Hour) // past the 12 h browser-session lifetime
		if res := old.Get("/account/manage"); res.Status != http.StatusSeeOther {
			t.Errorf("expired session: got %d, want 303 to sign in", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM sessions`); n != 1 {
			t.Fatalf("sessions before the next sign-in: got %d, want 1", n)
		}
		e.NewClient().Login("sam@example.com", password)
		if n := e.Count(`SELECT COUNT(*) FROM sessions`); n != 1 {
			t.Errorf("sessions after signing in again: got %d, want 1 (the new one)", n)
		}
	})
}

// rememberMeSeconds is the lifetime of a "remember me" session (14 days).
const rememberMeSeconds = 14 * 24 * 60 * 60

func TestRememberMe(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		e.NewClient().Register("ann@example.com", password)

		tests := []struct {
			name           string
			rememberMe     string
			wantPersistent bool
		}{
			{name: "remember me", rememberMe: "true", wantPersistent: true},
			{name: "browser session", rememberMe: "", wantPersistent: false},
		}
		clients := map[string]*apptest.Client{}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.NewClient()
				clients[tt.name] = c
				f := apptest.Form("email", "ann@example.com", "password", password)
				if tt.rememberMe != "" {
					f.Set("remember_me", tt.rememberMe)
				}
				res := c.Post("/account/login", f)
				if res.Status != http.StatusSeeOther {
					t.Fatalf("login: got %d, want 303", res.Status)
				}
				ck, ok := responseCookie(res, "sm_session")
				if !ok {
					t.Fatalf("got no sm_session cookie, want one")
				}
				persistent := ck.MaxAge > 0 || !ck.Expires.IsZero()
				if persistent != tt.wantPersistent {
					t.Errorf("persistent cookie: got %v (Max-Age %d, Expires %v), want %v", persistent, ck.MaxAge, ck.Expires, tt.wantPersistent)
				}
				if tt.wantPersistent && ck.MaxAge != rememberMeSeconds {
					t.Errorf("Max-Age: got %d, want %d (14 days)", ck.MaxAge, rememberMeSeconds)
				}
				if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
					t.Errorf("cookie flags: got HttpOnly=%v SameSite=%v, want HttpOnly and Lax", ck.HttpOnly, ck.SameSite)
				}
			})
		}

		// A browser session ends on the server after 12 hours; a remembered one lasts.
		e.Clock.Advance(13 * time.Hour)
		t.Run("after 13 hours", func(t *testing.T) {
			apptest.WantSignedIn(t, clients["remember me"], true)
			apptest.WantSignedIn(t, clients["browser session"], false)
		})
	})
}
