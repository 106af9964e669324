package handlers

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pageManageEmail    = "users/account/manage/email"
	pageConfirmEmail   = "users/account/confirm-email"
	pageResendConfirm  = "users/account/resend-email-confirmation"
	purposeConfirm     = "confirm-email"
	purposeChangeEmail = "change-email"
)

// sendConfirmationEmail issues a confirmation link for addr and queues the
// email in the same transaction.
func (h *Handler) sendConfirmationEmail(ctx context.Context, userID, addr string) error {
	return h.mailLink(ctx, h.confirmationMail(userID, addr))
}

func (h *Handler) confirmationMail(userID, addr string) linkMail {
	return linkMail{UserID: userID, To: addr, Purpose: purposeConfirm, Target: store.NormalizeEmail(addr),
		TTL: h.Config.EmailTokenTTL, Path: "/account/confirm-email", Template: mailConfirm}
}

type confirmView struct {
	OK      bool
	Heading string
}

// ConfirmEmail handles the link from the confirmation email.
func (h *Handler) ConfirmEmail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID, code := q.Get("userId"), q.Get("code")
	fail := func(err error) {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageConfirmEmail, web.View{Title: "Confirm email", Error: tokenMessage(err, "confirm"), Data: confirmView{Heading: "We could not confirm your email"}})
	}
	acct, err := h.Store.AccountByID(r.Context(), userID)
	if errors.Is(err, store.ErrNotFound) {
		fail(store.ErrTokenInvalid)
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	err = h.Store.DB.InTx(r.Context(), func(tx *sql.Tx) error {
		if err := h.Store.ConsumeToken(r.Context(), tx, acct.ID, purposeConfirm, store.NormalizeEmail(acct.Email), code); err != nil {
			return err
		}
		if _, err := tx.ExecContext(r.Context(), `UPDATE users SET email_confirmed = TRUE WHERE id = $1`, acct.ID); err != nil {
			return err
		}
		return h.Store.WriteAudit(r.Context(), tx, store.Audit{ActorID: acct.ID, SubjectID: acct.ID, Action: "email.confirmed", Detail: acct.Email, ClientIP: h.Kit.ClientIP(r)})
	})
	if tokenMessage(err, "confirm") != "" {
		fail(err)
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.publish(r.Context(), contracts.EmailConfirmed{UserID: acct.ID, Email: acct.Email})
	h.Kit.Render(w, r, http.StatusOK, pageConfirmEmail, web.View{Title: "Email confirmed", Data: confirmView{OK: true, Heading: "Thank you for confirming your email"}})
}

type manageEmailView struct {
	Email     string
	Confirmed bool
	NewEmail  string
}

func (h *Handler) renderManageEmail(w http.ResponseWriter, r *http.Request, status int, msg, newEmail string) {
	u := currentUser(r)
	h.Kit.Render(w, r, status, pageManageEmail, web.View{Title: "Email", Error: msg, Data: manageEmailView{Email: u.Email, Confirmed: u.EmailConfirmed, NewEmail: newEmail}})
}

// ManageEmailPage shows the email address, its badge and the change form.
func (h *Handler) ManageEmailPage(w http.ResponseWriter, r *http.Request) {
	h.renderManageEmail(w, r, http.StatusOK, "", "")
}

// ManageEmail either resends the confirmation (action=resend) or sends a
// change link to a new address (action=change).
func (h *Handler) ManageEmail(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	purpose := purposeChangeEmail
	if r.PostFormValue("action") == "resend" {
		purpose = purposeConfirm
	}
	if wait, err := h.emailCooldown(r.Context(), u.ID, purpose); err != nil {
		h.Kit.ServerError(w, r, err)
		return
	} else if wait > 0 {
		h.Kit.Throttled(w, r, wait, pageManageEmail, web.View{Title: "Email", Error: "We sent you an email a moment ago.", Data: manageEmailView{Email: u.Email, Confirmed: u.EmailConfirmed}})
		return
	}
	if purpose == purposeConfirm {
		if u.EmailConfirmed {
			h.Kit.Redirect(w, r, "/account/manage/email", "Your email address is already verified.")
			return
		}
		if err := h.sendConfirmationEmail(r.Context(), u.ID, u.Email); err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
		h.Kit.Redirect(w, r, "/account/manage/email", "Verification email sent to "+u.Email+". Please check your inbox.")
		return
	}
	newEmail := strings.TrimSpace(r.PostFormValue("new_email"))
	if msg := ValidEmail(newEmail); msg != "" {
		h.renderManageEmail(w, r, http.StatusUnprocessableEntity, msg, newEmail)
		return
	}
	if store.NormalizeEmail(newEmail) == store.NormalizeEmail(u.Email) {
		h.renderManageEmail(w, r, http.StatusUnprocessableEntity, "That is already your email address.", newEmail)
		return
	}
	// A stolen session must not be enough to move the account to another
	// inbox (and from there reset the password): ask for the password.
	acct, err := h.Store.AccountByID(r.Context(), u.ID)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	if !h.confirmPassword(w, r, acct, pageManageEmail, web.View{Title: "Email", Data: manageEmailView{Email: u.Email, Confirmed: u.EmailConfirmed, NewEmail: newEmail}}) {
		return
	}
	_, err = h.Store.AccountByEmail(r.Context(), newEmail)
	taken := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.Kit.ServerError(w, r, err)
		return
	}
	// When the address belongs to another account we say the same and send
	// nothing, so this form cannot be used to discover accounts.
	err = h.mailLink(r.Context(), linkMail{UserID: u.ID, To: newEmail, Purpose: purposeChangeEmail, Target: store.NormalizeEmail(newEmail),
		TTL: h.Config.EmailTokenTTL, Path: "/account/confirm-email-change", Query: url.Values{"email": {newEmail}}, Template: mailChangeEmail, Silent: taken})
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/email", "Confirmation link sent to "+newEmail+". Your email address changes once you open it.")
}

// emailCooldown is how long the user must wait before another link of purpose.
func (h *Handler) emailCooldown(ctx context.Context, userID, purpose string) (waitFor time.Duration, err error) {
	last, err := h.Store.LastTokenAt(ctx, userID, purpose)
	if err != nil || last.IsZero() {
		return 0, err
	}
	return last.Add(h.Config.EmailResendCooldown).Sub(h.Kit.Clock.Now()), nil
}

// ConfirmEmailChange handles the link sent to a new address: it atomically
// sets email and confirmed, rotates the security stamp and tells the old
// address.
func (h *Handler) ConfirmEmailChange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	userID, newEmail, code := q.Get("userId"), strings.TrimSpace(q.Get("email")), q.Get("code")
	fail := func(msg string) {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageConfirmEmail, web.View{Title: "Confirm email change", Error: msg, Data: confirmView{Heading: "We could not change your email"}})
	}
	acct, err := h.Store.AccountByID(r.Context(), userID)
	if errors.Is(err, store.ErrNotFound) {
		fail(tokenMessage(store.ErrTokenInvalid, "confirm"))
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	keep := ""
	if u, ok := contracts.UserFrom(r.Context()); ok && u.ID == acct.ID {
		keep = currentSessionHash(r)
	}
	errTaken := errors.New("taken")
	err = h.Store.DB.InTx(r.Context(), func(tx *sql.Tx) error {
		if err := h.Store.ConsumeToken(r.Context(), tx, acct.ID, purposeChangeEmail, store.NormalizeEmail(newEmail), code); err != nil {
			return err
		}
		_, err := tx.ExecContext(r.Context(), `UPDATE users SET email = $2, normalized_email = $3, email_confirmed = TRUE WHERE id = $1`, acct.ID, newEmail, store.NormalizeEmail(newEmail))
		if err != nil {
			if database.IsUniqueViolation(err) {
				return errTaken
			}
			return err
		}
		stamp, err := h.Store.RotateStamp(r.Context(), tx, acct.ID)
		if err != nil {
			return err
		}
		if err := h.Sessions.EndOthers(r.Context(), tx, acct.ID, keep, stamp); err != nil {
			return err
		}
		if err := h.Store.WriteAudit(r.Context(), tx, store.Audit{ActorID: acct.ID, SubjectID: acct.ID, Action: "email.changed", Detail: acct.Email + " → " + newEmail, ClientIP: h.Kit.ClientIP(r)}); err != nil {
			return err
		}
		return h.queueEmail(r.Context(), tx, mailEmailChanged, acct.Email, mailData{Old: acct.Email, New: newEmail}, time.Time{})
	})
	switch {
	case errors.Is(err, errTaken):
		fail("That email address is now used by another account.")
		return
	case tokenMessage(err, "confirm") != "":
		fail(tokenMessage(err, "confirm"))
		return
	case err != nil:
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Outbox.Kick()
	h.publish(r.Context(), contracts.EmailChanged{UserID: acct.ID, OldEmail: acct.Email, NewEmail: newEmail},
		contracts.EmailConfirmed{UserID: acct.ID, Email: newEmail})
	h.Kit.Render(w, r, http.StatusOK, pageConfirmEmail, web.View{Title: "Email changed", Data: confirmView{OK: true, Heading: "Your email address is now " + newEmail}})
}

// ResendConfirmationPage shows the anonymous resend form.
func (h *Handler) ResendConfirmationPage(w http.ResponseWriter, r *http.Request) {
	h.Kit.Render(w, r, http.StatusOK, pageResendConfirm, web.View{Title: "Resend confirmation", Data: r.URL.Query().Get("email")})
}

// ResendConfirmation sends a new link when the account exists, is
// unconfirmed and outside its cooldown. The answer is identical in every
// case, so it reveals nothing about which accounts exist.
func (h *Handler) ResendConfirmation(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	addr := strings.TrimSpace(r.PostFormValue("email"))
	if msg := ValidEmail(addr); msg != "" {
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, pageResendConfirm, web.View{Title: "Resend confirmation", Error: msg, Data: addr})
		return
	}
	acct, err := h.Store.AccountByEmail(r.Context(), addr)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.Kit.ServerError(w, r, err)
		return
	}
	if err == nil && !acct.EmailConfirmed {
		wait, err := h.emailCooldown(r.Context(), acct.ID, purposeConfirm)
		if err != nil {
			h.Kit.ServerError(w, r, err)
			return
		}
		if wait <= 0 {
			if err := h.sendConfirmationEmail(r.Context(), acct.ID, acct.Email); err != nil {
				h.Kit.ServerError(w, r, err)
				return
			}
		}
	}
	h.Kit.Redirect(w, r, "/account/resend-email-confirmation", "If an unconfirmed account exists for "+addr+", a new confirmation link is on its way.")
}
