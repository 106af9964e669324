package handlers

import (
	"errors"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/messaging"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// fail answers a use case's error on page: 429 with Retry-After and why
// when throttled, 422 with a message a person understands for what they
// can correct, and a logged 500 for anything else. The messages live here,
// in one place.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error, page string, v web.View) {
	var t *account.ThrottledError
	if errors.As(err, &t) {
		v.Error = throttleMessage(t.Reason)
		h.Kit.Throttled(w, r, t.RetryAfter, page, v)
		return
	}
	if msg := message(err); msg != "" {
		v.Error = msg
		h.Kit.Render(w, r, http.StatusUnprocessableEntity, page, v)
		return
	}
	h.Kit.ServerError(w, r, err)
}

// message explains an error a person can act on; "" for other errors.
func message(err error) string {
	var in *account.InputError
	switch {
	case errors.As(err, &in):
		return in.Message
	case errors.Is(err, account.ErrInvalidCredentials):
		return "Invalid email or password."
	case errors.Is(err, account.ErrLockedByAdmin):
		return "This account has been locked by an administrator."
	case errors.Is(err, account.ErrLockedOut):
		return "This account is locked. Try again later."
	case errors.Is(err, account.ErrWrongPassword):
		return "Your current password is not correct."
	case errors.Is(err, account.ErrEmailTaken):
		return "That email address is now used by another account."
	case errors.Is(err, account.ErrWrongSignInCode):
		return "That code is not correct. Enter the code your authenticator app shows now, or the latest code we texted you."
	case errors.Is(err, account.ErrWrongRecoveryCode):
		return "That recovery code is not correct, or it has been used already. Each code works once."
	case errors.Is(err, account.ErrWrongSetupCode):
		return "That code is not correct. Enter the 6-digit code your authenticator app shows now for this key."
	case errors.Is(err, account.ErrNoPendingKey):
		return "The setup key changed. Scan the new QR code and enter the code it gives."
	case errors.Is(err, account.ErrSMSUnavailable):
		return "Text messages cannot be used: the phone number is no longer confirmed. Use your authenticator app or a recovery code."
	case errors.Is(err, account.ErrPhoneNotConfirmed):
		return "Confirm a phone number on the Phone page first; codes can only go to a confirmed number."
	case errors.Is(err, account.ErrTwoFactorOff):
		return "Two-factor sign-in is off."
	case errors.Is(err, account.ErrTwoFactorChanged):
		return "Two-factor sign-in was turned on in another window meanwhile. Enter your password with the code to add this authenticator."
	}
	return codeMessage(err)
}

// throttleMessage says why an action is throttled; Kit.Throttled adds how
// long to wait.
func throttleMessage(reason account.Reason) string {
	switch reason {
	case account.ReasonNetworkSignIns:
		return "Too many failed sign-ins from your network."
	case account.ReasonAccountLocked:
		return "This account is locked after too many failed sign-ins."
	case account.ReasonAccountLockedNow:
		return "Too many failed sign-ins: this account is locked for a while."
	case account.ReasonPasswordLocked:
		return "This account is locked after too many wrong passwords."
	case account.ReasonPasswordLockedNow:
		return "Too many wrong passwords: this account is locked for a while."
	case account.ReasonRegistrations:
		return "Too many sign-up attempts from your network in the last hour."
	case account.ReasonEmailCooldown:
		return "We sent you an email a moment ago."
	case account.ReasonPhoneCooldown:
		return "A code was sent a moment ago."
	case account.ReasonPhoneLocked:
		return "Too many wrong codes, so phone verification is locked for a while."
	case account.ReasonNumberCap:
		return "Too many codes were sent to this number in the last hour."
	case account.ReasonNetworkCap:
		return "Too many codes were requested from your network in the last hour."
	case account.ReasonPasswordResets:
		return "Too many password resets from your network."
	case account.ReasonPasskeyRequests:
		return "Too many passkey requests from your network."
	case account.ReasonSecondStepDaily:
		return "Too many wrong codes for this account today, so code sign-in is paused. A passkey still signs you in."
	}
	return "Too many attempts."
}

// codeMessage explains a refused phone code; "" for other errors.
func codeMessage(err error) string {
	switch {
	case errors.Is(err, account.ErrWrongCode), errors.Is(err, account.ErrWrongNumber):
		return "That code is not correct. Check the text message and try again."
	case errors.Is(err, account.ErrCodeExpired):
		return "That code has expired. Send a new code."
	case errors.Is(err, account.ErrCodeBurned):
		return "Too many wrong codes. This code no longer works; send a new code."
	case errors.Is(err, account.ErrCodeUsed):
		return "That code has already been used. Send a new code if you need one."
	case errors.Is(err, account.ErrNoPendingCode):
		return "There is no code waiting for this number. Send a code first."
	}
	return ""
}

// tokenMessage explains a link-token error, with what to do next for the
// kind of link; "" for other errors.
func tokenMessage(err error, again string) string {
	switch {
	case errors.Is(err, account.ErrTokenExpired):
		return "This link has expired. " + again
	case errors.Is(err, account.ErrTokenUsed):
		return "This link has already been used. " + again
	case errors.Is(err, account.ErrTokenInvalid):
		return "This link is not valid. " + again
	}
	return ""
}

// What to do after a bad link, per kind of link.
const (
	againConfirm = "Send yourself a new confirmation link."
	againReset   = `Request a new one from "Forgot password".`
)

// deliveryMessage explains a failed SMS: a number that cannot receive
// texts gets its own message.
func deliveryMessage(kind messaging.FailureKind) string {
	switch kind {
	case messaging.FailureInvalidRecipient, messaging.FailureUnreachable, messaging.FailureBlocked:
		return "This number cannot receive text messages. Check it, or use another number."
	}
	return "We could not deliver the text message. Send a new code, or try again later."
}
