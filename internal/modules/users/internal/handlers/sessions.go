package handlers

import (
	"errors"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const pageSessions = "users/account/manage/sessions"

type sessionsView struct {
	Sessions []contracts.Session
	Others   int // sessions other than the current one
}

// SessionsPage lists where the user is signed in, the current browser marked.
func (h *Handler) SessionsPage(w http.ResponseWriter, r *http.Request) {
	h.renderSessions(w, r, http.StatusOK, "")
}

// renderSessions shows the sessions page with status and, when set, an error.
func (h *Handler) renderSessions(w http.ResponseWriter, r *http.Request, status int, msg string) {
	list, err := h.Accounts.ListSessions(r.Context(), currentUser(r).ID, currentSessionHash(r))
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	v := sessionsView{Sessions: list}
	for _, s := range list {
		if !s.Current {
			v.Others++
		}
	}
	h.Kit.Render(w, r, status, pageSessions, web.View{Title: "Sessions", Error: msg, Data: v})
}

// RevokeSession signs out one of the user's sessions. An id that names no
// session of theirs (ended already, or someone else's) is 404 and ends nothing.
func (h *Handler) RevokeSession(w http.ResponseWriter, r *http.Request) {
	err := h.Accounts.RevokeSession(r.Context(), currentUser(r).ID, r.PathValue("id"), h.client(r))
	switch {
	case errors.Is(err, account.ErrNotFound):
		h.renderSessions(w, r, http.StatusNotFound, "That session has already ended.")
		return
	case err != nil:
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/sessions", "The session has been signed out.")
}

// RevokeOtherSessions signs out every session but the current one.
func (h *Handler) RevokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	if err := h.Accounts.RevokeOtherSessions(r.Context(), currentUser(r).ID, currentSessionHash(r), h.client(r)); err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/sessions", "Every other session has been signed out.")
}
