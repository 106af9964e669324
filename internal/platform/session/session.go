// Package session keeps server-side sessions in the database. The browser
// holds only a random token; the table holds its SHA-256, so a database
// read does not yield usable cookies.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/clock"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/secrets"
)

// CookieName is the session cookie's name.
const CookieName = "sm_session"

// Lifetimes of a session: a browser session and "remember me".
const (
	ShortLifetime      = 12 * time.Hour
	RememberMeLifetime = 14 * 24 * time.Hour
)

// ErrNotFound means no live session matches the token.
var ErrNotFound = errors.New("session not found")

// Session is one signed-in browser.
type Session struct {
	IDHash        string
	PublicID      string // names the session on pages; never the token or its hash
	UserID        string
	SecurityStamp string
	Persistent    bool
	ExpiresAt     time.Time
}

// Client is the browser a session starts in, remembered so its owner can
// recognise it on the sessions page.
type Client struct {
	UserAgent string
	IP        string
}

// maxUserAgent bounds the stored User-Agent; the header is the client's to fill.
const maxUserAgent = 512

// Store reads and writes the sessions table.
type Store struct {
	Clock  clock.Clock
	Secure bool         // Secure cookies (production)
	Log    *slog.Logger // failed background writes; nil logs to slog.Default

	seen lastSeen // batches last-seen writes; see Seen
}

// Create starts a session for userID in the browser c and returns its token.
func (s *Store) Create(ctx context.Context, db database.Queryer, userID, stamp string, persistent bool, c Client) (string, Session, error) {
	token := secrets.Token(32)
	life := ShortLifetime
	if persistent {
		life = RememberMeLifetime
	}
	now := s.Clock.Now()
	sess := Session{IDHash: secrets.Hash(token), PublicID: secrets.ID(), UserID: userID, SecurityStamp: stamp, Persistent: persistent, ExpiresAt: now.Add(life)}
	ua := strings.ToValidUTF8(strings.ReplaceAll(c.UserAgent, "\x00", ""), "")
	if len(ua) > maxUserAgent {
		ua = strings.ToValidUTF8(ua[:maxUserAgent], "")
	}
	_, err := db.ExecContext(ctx, `INSERT INTO sessions (id_hash, public_id, user_id, security_stamp, persistent, created_at, last_seen_at, expires_at, user_agent, client_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		sess.IDHash, sess.PublicID, userID, stamp, persistent, now.UnixMilli(), now.UnixMilli(), sess.ExpiresAt.UnixMilli(), ua, c.IP)
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	s.seen.markSeen(sess.IDHash, now)
	return token, sess, nil
}

// Delete ends the session with idHash.
func (s *Store) Delete(ctx context.Context, db database.Queryer, idHash string) error {
	_, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return err
}

// EndOthers ends every session of userID except keepHash and moves the kept
// one to the new security stamp, so it survives the stamp check.
func (s *Store) EndOthers(ctx context.Context, db database.Queryer, userID, keepHash, newStamp string) error {
	if _, err := db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2`, userID, keepHash); err != nil {
		return fmt.Errorf("end other sessions: %w", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE sessions SET security_stamp = $1 WHERE id_hash = $2`, newStamp, keepHash); err != nil {
		return fmt.Errorf("refresh session: %w", err)
	}
	return nil
}

// SetCookie writes the session cookie.
func (s *Store) SetCookie(w http.ResponseWriter, token string, sess Session) {
	c := &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode}
	if sess.Persistent {
		c.Expires = sess.ExpiresAt
		// The store's clock, not the wall clock, decides how long is left,
		// so Max-Age agrees with the expiry kept in the database.
		c.MaxAge = int(sess.ExpiresAt.Sub(s.Clock.Now()).Seconds())
		if c.MaxAge <= 0 {
			c.MaxAge = int(RememberMeLifetime.Seconds())
		}
	}
	http.SetCookie(w, c)
}

// ClearCookie removes the session cookie.
func (s *Store) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// Token returns the session token sent with r, if any.
func Token(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}
