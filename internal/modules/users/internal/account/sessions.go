package account

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
)

// Audit actions of ending sessions.
const (
	ActionSessionRevoked       = "session.revoked"
	ActionOtherSessionsRevoked = "sessions.revoked_others"
	ActionSignedOutEverywhere  = "sessions.signed_out_everywhere"
)

// ListSessions lists the user's live sessions, newest first, the one
// whose hash is currentHash marked Current. (Not "Sessions": that name is
// the session store the service holds.) Last-seen times noted but not yet
// written are written first, so the list is up to date.
func (s *Service) ListSessions(ctx context.Context, userID, currentHash string) ([]contracts.Session, error) {
	if err := s.Sessions.Flush(ctx); err != nil {
		s.Log.ErrorContext(ctx, "write last-seen times", "err", err) // the list is still right, if a minute late
	}
	list, err := s.Sessions.List(ctx, s.Store.DB, userID)
	if err != nil {
		return nil, err
	}
	out := make([]contracts.Session, len(list))
	for i, in := range list {
		out[i] = contracts.Session{ID: in.PublicID, Browser: session.Browser(in.UserAgent), IP: in.ClientIP,
			CreatedAt: in.CreatedAt, LastSeenAt: in.LastSeenAt, ExpiresAt: in.ExpiresAt, Current: currentHash != "" && in.IDHash == currentHash}
	}
	return out, nil
}

// RevokeSession ends the user's session publicID at once: its next request
// is anonymous. Only the user's own sessions: another user's id is
// ErrNotFound, and nothing is ended.
func (s *Service) RevokeSession(ctx context.Context, userID, publicID string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		list, err := s.Sessions.List(ctx, tx, userID)
		if err != nil {
			return err
		}
		var detail string
		for _, in := range list {
			if in.PublicID == publicID {
				detail = session.Browser(in.UserAgent) + ", " + in.ClientIP
			}
		}
		ok, err := s.Sessions.DeleteByPublicID(ctx, tx, userID, publicID)
		if err != nil {
			return err
		}
		if !ok || publicID == "" {
			return ErrNotFound
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: ActionSessionRevoked, Detail: detail, ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.SessionsRevoked{UserID: userID, ActorID: userID})
	})
}

// RevokeOtherSessions ends every session of the user but the current one
// (currentHash). With no other session there is nothing to record.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, currentHash string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		ended, err := s.Sessions.DeleteOthers(ctx, tx, userID, currentHash)
		if err != nil || ended == 0 {
			return err
		}
		if err := s.Store.WriteAudit(ctx, tx, audit{ActorID: userID, SubjectID: userID, Action: ActionOtherSessionsRevoked,
			Detail: fmt.Sprintf("%d session(s) ended", ended), ClientIP: c.IP}); err != nil {
			return err
		}
		return emit(contracts.SessionsRevoked{UserID: userID, ActorID: userID})
	})
}

// SignOutEverywhere ends every session of the user, with the administrator
// actorID as actor. Errors: ErrNotFound.
func (s *Service) SignOutEverywhere(ctx context.Context, actorID, userID string, c Client) error {
	return s.change(ctx, func(tx *sql.Tx, emit func(any) error) error {
		if _, err := s.Store.AccountTx(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.endSessions(ctx, tx, actorID, userID, ActionSignedOutEverywhere, c); err != nil {
			return err
		}
		return emit(contracts.SessionsRevoked{UserID: userID, ActorID: actorID})
	})
}

// endSessions ends every session of userID inside tx and records action,
// by actorID, with how many sessions ended.
func (s *Service) endSessions(ctx context.Context, tx *sql.Tx, actorID, userID, action string, c Client) error {
	ended, err := s.Sessions.DeleteAll(ctx, tx, userID)
	if err != nil {
		return err
	}
	return s.Store.WriteAudit(ctx, tx, audit{ActorID: actorID, SubjectID: userID, Action: action,
		Detail: fmt.Sprintf("%d session(s) ended", ended), ClientIP: c.IP})
}
