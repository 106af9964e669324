package handlers

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pageChangePassword = "users/account/manage/change-password"
	pageForgotPassword = "users/account/forgot-password"
	pageResetPassword  = "users/account/reset-password"
	purposeReset       = "reset-password"
)

// ChangePasswordPage shows the change-password form.
func (h *Handler) ChangePasswordPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageChangePassword, web.View{Title: "Change password"})
}

// ChangePassword checks the current password, stores the new one and ends
// the user's other sessions; this one stays signed in.
func (h *Handler) ChangePassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	fail := func(msg string) {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageChangePassword, web.View{Title: "Change password", Error: msg})
	}
	acct, err := h.Store.AccountByID(r.Context(), u.ID)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	newPW := r.PostFormValue("new_password")
	if msg := ValidNewPassword(newPW, r.PostFormValue("confirm_password")); msg != "" {
		fail(msg)
		return
	}
	if !h.confirmPassword(w, r, acct, pageChangePassword, web.View{Title: "Change password"}) {
		return
	}
	keep := currentSessionHash(r)
	// Hash before the transaction: SQLite holds its write lock for a
	// transaction's whole life, and argon2id takes tens of milliseconds.
	newHash := h.hashPassword(newPW)
	err = h.Store.DB.InTx(r.Context(), func(tx *sql.Tx) error {
		if err := h.Store.SetPasswordHash(r.Context(), tx, u.ID, newHash); err != nil {
			return err
		}
		stamp, err := h.Store.RotateStamp(r.Context(), tx, u.ID)
		if err != nil {
			return err
		}
		if err := h.Sessions.EndOthers(r.Context(), tx, u.ID, keep, stamp); err != nil {
			return err
		}
		return h.Store.WriteAudit(r.Context(), tx, store.Audit{ActorID: u.ID, SubjectID: u.ID, Action: "password.changed", ClientIP: h.Kit.ClientIP(r)})
	})
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.publish(r.Context(), contracts.PasswordChanged{UserID: u.ID})
	h.Kit.Redirect(w, r, "/account/manage/change-password", "Your password has been changed. Other devices have been signed out.")
}

// confirmPassword checks the signed-in user's current_password field before
// a sensitive change. Wrong passwords count towards the sign-in lockout, so
// a borrowed session cannot be used to guess the password. False means the
// page has been answered: v again with 422, or 429 while locked.
func (h *Handler) confirmPassword(w http.ResponseWriter, r *http.Request, acct store.Account, page string, v web.View) bool {
	book := context.WithoutCancel(r.Context())
	wait, err := h.Store.ReserveSignIn(book, acct.ID, maxFailedSignIns, signInLockout, h.Kit.ClientIP(r))
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return false
	}
	if wait > 0 {
		v.Error = "This account is locked after too many wrong passwords."
		h.Kit.Throttled(w, r, wait, page, v)
		return false
	}
	ok, err := h.verifyPassword(r.PostFormValue("current_password"), acct.PasswordHash)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return false
	}
	if ok {
		// The reservation was no failure.
		if err := h.Store.ClearSignInFailures(book, acct.ID); err != nil {
			h.Kit.ServerError(w, r, err)
			return false
		}
		return true
	}
	until, err := h.Store.RecordFailedSignIn(book, acct.ID, maxFailedSignIns, signInLockout, h.Kit.ClientIP(r))
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return false
	}
	if !until.IsZero() {
		v.Error = "Too many wrong passwords: this account is locked for a while."
		h.Kit.Throttled(w, r, until.Sub(h.Kit.Clock.Now()), page, v)
		return false
	}
	v.Error = "Your current password is not correct."
	h.Kit.Render(w, r, http.StatusUnprocessableEntity, page, v)
	return false
}

// ForgotPasswordPage shows the form asking for an email address.
func (h *Handler) ForgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageForgotPassword, web.View{Title: "Forgot password"})
}

// ForgotPassword emails a reset link when the account exists. The answer is
// the same either way, so the form cannot be used to find accounts.
func (h *Handler) ForgotPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	addr := strings.TrimSpace(r.PostFormValue("email"))
	if msg := ValidEmail(addr); msg != "" {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageForgotPassword, web.View{Title: "Forgot password", Error: msg})
		return
	}
	acct, err := h.Store.AccountByEmail(r.Context(), addr)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Same answer as for a known account.
	case err != nil:
		h.Kit.ServerError(w, r, err)
		return
	default:
		// One link per account per cooldown, silently: the answer stays the
		// same, so the form can neither flood an inbox nor keep replacing
		// the owner's link.
		wait, err := h.emailCooldown(r.Context(), acct.ID, purposeReset)
		if err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
		if wait > 0 {
			break
		}
		if err := h.SendPasswordReset(r.Context(), acct, store.Audit{ActorID: acct.ID, ClientIP: h.Kit.ClientIP(r)}); err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
	}
	h.Kit.Redirect(w, r, "/account/forgot-password", "If an account exists for "+addr+", we have sent it a link to reset the password. Check your inbox.")
}

// SendPasswordReset issues a reset link for acct and queues the email, with
// an audit row ("password.reset_sent", actor from audit), in one transaction.
func (h *Handler) SendPasswordReset(ctx context.Context, acct store.Account, audit store.Audit) error {
	audit.SubjectID, audit.Action = acct.ID, "password.reset_sent"
	return h.mailLink(ctx, linkMail{UserID: acct.ID, To: acct.Email, Purpose: purposeReset, Target: acct.Email,
		TTL: passwordResetTTL, Path: "/account/reset-password", Template: mailResetPassword, Audit: &audit})
}

type resetForm struct {
	UserID string
	Code   string
}

// ResetPasswordPage shows the new-password form for a reset link.
func (h *Handler) ResetPasswordPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	h.Kit.Render(w, r, http.StatusOK, pageResetPassword, web.View{Title: "Reset password", Data: resetForm{UserID: q.Get("userId"), Code: q.Get("code")}})
}

// ResetPassword consumes the link's token and sets the new password; every
// session of the user ends.
func (h *Handler) ResetPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := resetForm{UserID: r.PostFormValue("userId"), Code: r.PostFormValue("code")}
	fail := func(msg string) {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageResetPassword, web.View{Title: "Reset password", Error: msg, Data: form})
	}
	newPW := r.PostFormValue("password")
	if msg := ValidNewPassword(newPW, r.PostFormValue("confirm_password")); msg != "" {
		fail(msg)
		return
	}
	acct, err := h.Store.AccountByID(r.Context(), form.UserID)
	if errors.Is(err, store.ErrNotFound) {
		fail(tokenMessage(store.ErrTokenInvalid, "reset"))
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	// Hash before the transaction: SQLite holds its write lock for a
	// transaction's whole life, and argon2id takes tens of milliseconds.
	newHash := h.hashPassword(newPW)
	err = h.Store.DB.InTx(r.Context(), func(tx *sql.Tx) error {
		if err := h.Store.ConsumeToken(r.Context(), tx, acct.ID, purposeReset, acct.Email, form.Code); err != nil {
			return err
		}
		if err := h.Store.SetPasswordHash(r.Context(), tx, acct.ID, newHash); err != nil {
			return err
		}
		if _, err := h.Store.RotateStamp(r.Context(), tx, acct.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(r.Context(), `DELETE FROM sessions WHERE user_id = $1`, acct.ID); err != nil {
			return err
		}
		return h.Store.WriteAudit(r.Context(), tx, store.Audit{ActorID: acct.ID, SubjectID: acct.ID, Action: "password.reset", ClientIP: h.Kit.ClientIP(r)})
	})
	if msg := tokenMessage(err, "reset"); msg != "" {
		fail(msg)
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.publish(r.Context(), contracts.PasswordChanged{UserID: acct.ID})
	h.Kit.Redirect(w, r, "/account/login", "Your password has been reset. Sign in with the new one.")
}

// tokenMessage explains a link-token error to a person; "" for other errors.
func tokenMessage(err error, what string) string {
	again := "Request a new one."
	switch what {
	case "reset":
		again = `Request a new one from "Forgot password".`
	case "confirm":
		again = "Send yourself a new confirmation link."
	}
	switch {
	case errors.Is(err, store.ErrTokenExpired):
		return "This link has expired. " + again
	case errors.Is(err, store.ErrTokenUsed):
		return "This link has already been used. " + again
	case errors.Is(err, store.ErrTokenInvalid):
		return "This link is not valid. " + again
	}
	return ""
}
