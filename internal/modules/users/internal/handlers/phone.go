package handlers

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const pagePhone = "users/account/manage/phone"

// phoneView is the phone page as one state machine: the stored number is
// absent, unverified or verified (State), each with or without a pending
// code (Pending; PendingOther when the code went to another number than
// the stored one), and sending may be throttled for a while (WaitIn). The
// template offers exactly one primary action per state: the code form
// while a code is pending, else the send form; a send that would answer
// 429 is shown disabled with its wait instead.
type phoneView struct {
	State         string // phoneNone, phoneUnverified or phoneVerified: the stored number
	Number        string
	Confirmed     bool
	Input         string // the number field's value
	Pending       bool   // a live code is waiting for this number
	PendingNumber string
	PendingOther  bool // the code went to a number other than the stored one
	ExpiresIn     time.Duration
	ResendIn      time.Duration
	// WaitIn is how long before a new code may be asked for, as far as the
	// page knows: the resend cooldown of a pending code, or the wait of the
	// throttle that refused the request being answered.
	WaitIn        time.Duration
	ConfirmRemove bool
	Delivery      string // the latest code's SMS: queued, sent or failed
	DeliveryError string // why it failed, in words a person understands
	// SMSOnlyFactor: text messages are the user's only two-factor method
	// besides recovery codes, so changing or removing the number leaves
	// only the recovery codes to sign in with (SPEC §8).
	SMSOnlyFactor bool
}

// States of the stored number on the phone page (phoneView.State).
const (
	phoneNone       = "none"
	phoneUnverified = "unverified"
	phoneVerified   = "verified"
)

// renderPhone shows the phone page; input overrides the number field, and
// err (when not nil) is answered as fail does.
func (h *Handler) renderPhone(w http.ResponseWriter, r *http.Request, err error, input string) {
	u := currentUser(r)
	st, serr := h.Accounts.PhoneStatus(r.Context(), u.ID)
	if serr != nil {
		h.Kit.ServerError(w, r, serr)
		return
	}
	v := phoneView{Number: u.PhoneNumber, Confirmed: u.PhoneNumberConfirmed, Input: u.PhoneNumber,
		Pending: st.Pending, PendingNumber: st.PendingNumber, ExpiresIn: st.ExpiresIn, ResendIn: st.ResendIn, Delivery: st.Delivery}
	if u.TwoFactorEnabled {
		tf, terr := h.Accounts.TwoFactorStatus(r.Context(), u.ID)
		if terr != nil {
			h.Kit.ServerError(w, r, terr)
			return
		}
		v.SMSOnlyFactor = tf.SMSUsable && !tf.Authenticator
	}
	switch {
	case u.PhoneNumber == "":
		v.State = phoneNone
	case u.PhoneNumberConfirmed:
		v.State = phoneVerified
	default:
		v.State = phoneUnverified
	}
	if st.Pending {
		// The number field then asks for another number than the pending one.
		v.Input = ""
		v.PendingOther = u.PhoneNumber != "" && st.PendingNumber != u.PhoneNumber
		v.WaitIn = st.ResendIn
	}
	var throttled *account.ThrottledError
	if errors.As(err, &throttled) {
		v.WaitIn = max(v.WaitIn, throttled.RetryAfter)
	}
	if st.Delivery == account.DeliveryFailed {
		v.DeliveryError = deliveryMessage(st.Failure)
	}
	if input != "" {
		v.Input = input
	}
	v.ConfirmRemove = r.Method == http.MethodGet && r.URL.Query().Get("remove") == "confirm" && v.Number != ""
	view := web.View{Title: "Phone number", Data: v}
	if err != nil {
		h.fail(w, r, err, pagePhone, view)
		return
	}
	h.Kit.Render(w, r, http.StatusOK, pagePhone, view)
}

// PhonePage shows the number, its badge, the send form and, while a code is
// pending, the code form.
func (h *Handler) PhonePage(w http.ResponseWriter, r *http.Request) {
	h.renderPhone(w, r, nil, "")
}

// SendPhoneCode sends a verification code to the number in the form.
func (h *Handler) SendPhoneCode(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	input := strings.TrimSpace(r.PostFormValue("phone_number"))
	_, err := h.Accounts.SendPhoneCode(r.Context(), u, input, h.client(r))
	var t *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrPhoneAlreadyVerified):
		h.Kit.Redirect(w, r, "/account/manage/phone", "This number is already verified.")
	case errors.As(err, &t):
		h.Log.InfoContext(r.Context(), "phone code throttled", "user_id", u.ID, "reason", t.Reason.String(), "client_ip", h.Kit.ClientIP(r))
		h.renderPhone(w, r, err, input)
	case err != nil:
		h.renderPhone(w, r, err, input)
	default:
		h.Kit.Redirect(w, r, "/account/manage/phone", "Code sent. Enter it below.")
	}
}

// ConfirmPhone verifies the code and, atomically, stores the number as
// verified. A failure leaves the stored number as it was.
func (h *Handler) ConfirmPhone(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	input := strings.TrimSpace(r.PostFormValue("phone_number"))
	number, err := h.Accounts.ConfirmPhone(r.Context(), currentUser(r).ID, input, r.PostFormValue("code"), currentSessionHash(r), h.client(r))
	var in *account.InputError
	switch {
	case errors.As(err, &in):
		h.renderPhone(w, r, err, input) // a refused number keeps what was typed
	case err != nil:
		h.renderPhone(w, r, err, "")
	default:
		h.Kit.Redirect(w, r, "/account/manage/phone", "Your phone number "+phone.FormatInternational(number)+" is verified.")
	}
}

// RemovePhone clears the number and its confirmation.
func (h *Handler) RemovePhone(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if err := h.Accounts.RemovePhone(r.Context(), currentUser(r).ID, h.client(r)); err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/phone", "Your phone number has been removed.")
}
