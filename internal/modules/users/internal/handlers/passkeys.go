package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pagePasskeys = "users/account/manage/passkeys"
	passkeysURL  = "/account/manage/passkeys"

	maxCeremonyLen = 64 << 10
)

// ceremonyCookie holds the token of the passkey ceremony this browser
// began; only the ceremony endpoints ever see it.
var ceremonyCookie = cookie{name: "sm_passkey", path: "/account/passkeys/", sameSite: http.SameSiteStrictMode}

type passkeysView struct {
	On       bool // the server offers passkeys (its host is no IP address)
	Passkeys []contracts.Passkey
	Confirm  *contracts.Passkey // the passkey whose deletion awaits confirmation
	Renaming string             // id of the passkey whose rename form failed
	Name     string             // the name typed there
}

// PasskeysPage lists the user's passkeys; ?confirm={id} asks to confirm
// deleting one, so deletion takes two deliberate steps without JavaScript.
func (h *Handler) PasskeysPage(w http.ResponseWriter, r *http.Request) {
	h.renderPasskeys(w, r, http.StatusOK, "", passkeysView{}, r.URL.Query().Get("confirm"))
}

func (h *Handler) renderPasskeys(w http.ResponseWriter, r *http.Request, status int, msg string, v passkeysView, confirm string) {
	list, err := h.Accounts.ListPasskeys(r.Context(), currentUser(r).ID)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	v.On, v.Passkeys = h.Accounts.PasskeysOn(), list
	for i := range list {
		if confirm != "" && list[i].ID == confirm {
			v.Confirm = &list[i]
		}
	}
	h.Kit.Render(w, r, status, pagePasskeys, web.View{Title: "Passkeys", Error: msg, Data: v})
}

// RenamePasskey renames one of the user's passkeys.
func (h *Handler) RenamePasskey(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	id, name := r.PathValue("id"), r.PostFormValue("name")
	err := h.Accounts.RenamePasskey(r.Context(), currentUser(r).ID, id, name, h.client(r))
	switch {
	case errors.Is(err, account.ErrPasskeyNotFound):
		h.renderPasskeys(w, r, http.StatusNotFound, "That passkey has been deleted already.", passkeysView{}, "")
		return
	case err != nil:
		var in *account.InputError
		if errors.As(err, &in) {
			h.renderPasskeys(w, r, http.StatusUnprocessableEntity, in.Message, passkeysView{Renaming: id, Name: name}, "")
			return
		}
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, passkeysURL, "The passkey has been renamed.")
}

// DeletePasskey deletes one of the user's passkeys, once confirmed.
func (h *Handler) DeletePasskey(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	err := h.Accounts.DeletePasskey(r.Context(), u.ID, u.ID, r.PathValue("id"), currentSessionHash(r), h.client(r))
	switch {
	case errors.Is(err, account.ErrPasskeyNotFound):
		h.renderPasskeys(w, r, http.StatusNotFound, "That passkey has been deleted already.", passkeysView{}, "")
		return
	case errors.Is(err, account.ErrLastSignInMethod):
		h.renderPasskeys(w, r, http.StatusUnprocessableEntity, "This passkey is the only way to sign in to your account, which has no password. Add another passkey, or set a password with “Forgot your password?” on the sign-in page, before you delete it.", passkeysView{}, "")
		return
	case err != nil:
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, passkeysURL, "The passkey has been deleted. It no longer signs you in, and your other devices were signed out; you may also remove it from your device.")
}

// BeginPasskeyRegistration starts adding a passkey: JSON options for
// navigator.credentials.create, and the ceremony's cookie.
func (h *Handler) BeginPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	u, ok := registeringUser(w, r)
	if !ok {
		return
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := readJSON(w, r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "The request could not be read. Try again."})
		return
	}
	c, err := h.Accounts.BeginPasskeyRegistration(r.Context(), u.ID, in.Password, h.client(r))
	h.beginCeremony(w, r, c, err)
}

// BeginPasskeySignIn starts a sign-in with a passkey: JSON options for
// navigator.credentials.get, and the ceremony's cookie.
func (h *Handler) BeginPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	c, err := h.Accounts.BeginPasskeySignIn(r.Context(), h.client(r))
	h.beginCeremony(w, r, c, err)
}

func (h *Handler) beginCeremony(w http.ResponseWriter, r *http.Request, c account.Ceremony, err error) {
	if err != nil {
		h.ceremonyFailed(w, r, err)
		return
	}
	h.setCookie(w, ceremonyCookie, c.Token, account.PasskeyChallengeTTL)
	writeJSON(w, http.StatusOK, c.Options)
}

// ceremonyAnswer is what passkeys.js posts to finish a ceremony.
type ceremonyAnswer struct {
	Credential json.RawMessage `json:"credential"` // the PublicKeyCredential, binary fields base64url
	Name       string          `json:"name"`       // registration: the name typed, may be empty
	Remember   bool            `json:"remember"`   // sign-in: "Remember me"
	ReturnURL  string          `json:"return_url"` // sign-in: where to go next
}

// readAnswer reads the ceremony's answer and token and clears the cookie
// (a ceremony is answered once); false means an answer was sent.
func (h *Handler) readAnswer(w http.ResponseWriter, r *http.Request) (ceremonyAnswer, string, bool) {
	var a ceremonyAnswer
	h.clearCookie(w, ceremonyCookie)
	if err := readJSON(w, r, &a); err != nil || len(a.Credential) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "The passkey answer could not be read. Try again."})
		return a, "", false
	}
	return a, ceremonyCookie.value(r), true
}

// FinishPasskeyRegistration stores the passkey the browser created; the
// script then goes to the passkeys list, whose flash names it.
func (h *Handler) FinishPasskeyRegistration(w http.ResponseWriter, r *http.Request) {
	u, ok := registeringUser(w, r)
	if !ok {
		return
	}
	a, token, ok := h.readAnswer(w, r)
	if !ok {
		return
	}
	p, err := h.Accounts.FinishPasskeyRegistration(r.Context(), u.ID, token, a.Name, a.Credential, h.client(r))
	if err != nil {
		h.ceremonyFailed(w, r, err)
		return
	}
	h.Kit.SetFlash(w, fmt.Sprintf("Passkey “%s” added. You can sign in with it now.", p.Name))
	writeJSON(w, http.StatusOK, map[string]string{"redirect": passkeysURL})
}

// FinishPasskeySignIn signs in with the passkey the browser chose; the
// script then goes to return_url (or the account page).
func (h *Handler) FinishPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	a, token, ok := h.readAnswer(w, r)
	if !ok {
		return
	}
	res, err := h.Accounts.FinishPasskeySignIn(r.Context(), token, a.Credential, a.Remember, session.Token(r), h.client(r))
	if err != nil {
		h.ceremonyFailed(w, r, err)
		return
	}
	if res.Outcome == account.EmailUnconfirmed {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "Confirm your email address before you sign in: open the link we emailed you, or ask for a new one on “Resend email confirmation”."})
		return
	}
	h.startSession(w, res.Session)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": web.SafeReturnURL(a.ReturnURL, "/account/manage")})
}

// ceremonyFailed answers a ceremony's error as JSON {"error": message};
// the script shows the message.
func (h *Handler) ceremonyFailed(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusBadRequest, ""
	var in *account.InputError
	var t *account.ThrottledError
	switch {
	case errors.As(err, &t):
		status, msg = http.StatusTooManyRequests, throttleMessage(t.Reason)+web.RetryAfter(w, t.RetryAfter)
	case errors.Is(err, account.ErrPasskeysOff):
		status, msg = http.StatusServiceUnavailable, "Passkeys are not available on this server. Sign in with your email and password."
	case errors.Is(err, account.ErrCeremonyExpired):
		msg = "The passkey request expired or was already used. Try again."
	case errors.Is(err, account.ErrPasskeyRejected):
		msg = "The passkey could not be verified. Try again, or use another passkey."
	case errors.Is(err, account.ErrUnknownPasskey):
		msg = "This passkey is not registered here (it may have been deleted). Sign in with your email and password, then add a new passkey."
	case errors.Is(err, account.ErrPasskeyExists):
		status, msg = http.StatusConflict, "This passkey is registered already."
	case errors.Is(err, account.ErrTooManyPasskeys):
		status, msg = http.StatusUnprocessableEntity, "Your account has as many passkeys as it can hold. Delete one you no longer use first."
	case errors.Is(err, account.ErrWrongPassword):
		status, msg = http.StatusUnprocessableEntity, "Your password is not correct. Enter the password you sign in with to add a passkey."
	case errors.Is(err, account.ErrLockedByAdmin), errors.Is(err, account.ErrLockedOut):
		status, msg = http.StatusForbidden, message(err)
	case errors.As(err, &in):
		status, msg = http.StatusUnprocessableEntity, in.Message
	default:
		h.Log.ErrorContext(r.Context(), "passkey ceremony failed", "path", r.URL.Path, "request_id", web.RequestID(r.Context()), "err", err)
		status, msg = http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment."
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// registeringUser is the signed-in user adding a passkey; false means the
// session has ended and a JSON 401 was sent.
func registeringUser(w http.ResponseWriter, r *http.Request) (contracts.User, bool) {
	u, ok := contracts.UserFrom(r.Context())
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Your session has ended. Sign in again, then add the passkey."})
	}
	return u, ok
}

// readJSON decodes a ceremony request's body (at most maxCeremonyLen) into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCeremonyLen))
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
