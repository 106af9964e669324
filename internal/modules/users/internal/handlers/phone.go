package handlers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/messaging/sms"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/store"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const pagePhone = "users/account/manage/phone"

func (h *Handler) phoneLimits(r *http.Request) store.PhoneLimits {
	c := h.Config
	return store.PhoneLimits{
		CodeTTL: c.PhoneCodeTTL, ResendCooldown: c.PhoneResendCooldown, MaxAttempts: c.PhoneMaxAttempts,
		SendsPerNumber: c.PhoneSendsPerNumber, SendsPerIP: c.PhoneSendsPerIP, Lockout: c.PhoneLockout,
		Key: h.CodeKey, IPKey: h.Kit.RateKey(r),
	}
}

type phoneView struct {
	Number        string
	Confirmed     bool
	Input         string // the number field's value
	Pending       bool   // a live code is waiting for this number
	PendingNumber string
	ExpiresIn     time.Duration
	ResendIn      time.Duration
	ConfirmRemove bool
	Delivery      string // the latest code's SMS: queued, sent or failed
	DeliveryError string // why it failed, in words a person understands
}

// phoneView builds the page state; input overrides the number field.
func (h *Handler) phoneView(ctx context.Context, u contracts.User, input string) (phoneView, error) {
	v := phoneView{Number: u.PhoneNumber, Confirmed: u.PhoneNumberConfirmed, Input: u.PhoneNumber}
	p, ok, err := h.Store.PendingPhoneCode(ctx, u.ID)
	if err != nil {
		return v, err
	}
	now := h.Kit.Clock.Now()
	if ok && !p.Consumed && p.ExpiresAt.After(now) && p.Attempts < h.Config.PhoneMaxAttempts {
		v.Pending, v.PendingNumber, v.Input = true, p.PhoneNumber, p.PhoneNumber
		v.ExpiresIn = p.ExpiresAt.Sub(now)
		if next := p.CreatedAt.Add(h.Config.PhoneResendCooldown); next.After(now) {
			v.ResendIn = next.Sub(now)
		}
		m, found, err := h.Outbox.Latest(ctx, phoneRef(u.ID))
		if err != nil {
			return v, err
		}
		if found && m.Recipient == p.PhoneNumber {
			v.Delivery = m.Status
			if m.Status == outbox.StatusSending {
				v.Delivery = outbox.StatusQueued
			}
			if m.Status == outbox.StatusFailed {
				v.DeliveryError = deliveryMessage(m.ErrorCode)
			}
		}
	}
	if input != "" {
		v.Input = input
	}
	return v, nil
}

func (h *Handler) renderPhone(w http.ResponseWriter, r *http.Request, status int, msg, input string, throttle time.Duration) {
	v, err := h.phoneView(r.Context(), currentUser(r), input)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	v.ConfirmRemove = r.Method == http.MethodGet && r.URL.Query().Get("remove") == "confirm" && v.Number != ""
	view := web.View{Title: "Phone number", Error: msg, Data: v}
	if throttle > 0 {
		h.Kit.Throttled(w, r, throttle, pagePhone, view)
		return
	}
	h.Kit.Render(w, r, status, pagePhone, view)
}

// PhonePage shows the number, its badge, the send form and, while a code is
// pending, the code form.
func (h *Handler) PhonePage(w http.ResponseWriter, r *http.Request) {
	h.renderPhone(w, r, http.StatusOK, "", "", 0)
}

// phoneForm reads the form's phone_number; false means the page (422 for a
// number we refuse) has been sent.
func (h *Handler) phoneForm(w http.ResponseWriter, r *http.Request) (u contracts.User, input, number string, ok bool) {
	if !h.parseForm(w, r) {
		return u, "", "", false
	}
	input = strings.TrimSpace(r.PostFormValue("phone_number"))
	number, err := h.Phones.Parse(input)
	if err != nil {
		h.renderPhone(w, r, http.StatusUnprocessableEntity, phoneMessage(err), input, 0)
		return u, input, "", false
	}
	return currentUser(r), input, number, true
}

// SendPhoneCode validates the number, applies every throttle, stores a new
// code and sends it by SMS.
func (h *Handler) SendPhoneCode(w http.ResponseWriter, r *http.Request) {
	u, input, number, ok := h.phoneForm(w, r)
	if !ok {
		return
	}
	if number == u.PhoneNumber && u.PhoneNumberConfirmed {
		h.Kit.Redirect(w, r, "/account/manage/phone", "This number is already verified.")
		return
	}
	ip := h.Kit.ClientIP(r)
	err := h.Store.IssuePhoneCode(r.Context(), u.ID, number, ip, h.phoneLimits(r), func(tx *sql.Tx, code string, expires time.Time) error {
		msg := sms.Message{To: number, Body: h.smsBody(code), Purpose: store.PurposePhoneVerification}
		_, err := h.Outbox.EnqueueSMS(r.Context(), tx, msg, outbox.Options{Sensitive: true, WipeAt: expires, Ref: phoneRef(u.ID)})
		return err
	})
	var throttled *store.ThrottledError
	if errors.As(err, &throttled) {
		h.Log.InfoContext(r.Context(), "phone code throttled", "user_id", u.ID, "reason", throttled.Reason, "client_ip", ip)
		h.renderPhone(w, r, 0, throttleMessage(throttled.Reason), input, throttled.RetryAfter)
		return
	}
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Outbox.Kick()
	h.publish(r.Context(), contracts.PhoneVerificationCodeSent{UserID: u.ID, PhoneNumber: number})
	h.Kit.Redirect(w, r, "/account/manage/phone", "Code sent. Enter it below.")
}

// deliveryMessage explains a failed SMS. Provider codes that mean the number
// itself cannot receive texts (Twilio 21211 invalid, 21614 not mobile, 21610
// unsubscribed, 21408 region not enabled) get their own message.
func deliveryMessage(code string) string {
	switch code {
	case "21211", "21614", "21610", "21408":
		return "This number cannot receive text messages. Check it, or use another number."
	}
	return "We could not deliver the text message. Send a new code, or try again later."
}

// phoneRef groups a user's verification SMS in the outbox.
func phoneRef(userID string) string { return "phone:" + userID }

// smsBody is the verification text, ending with the origin-bound line
// (@host #code) that browsers and phones use to autofill the code.
func (h *Handler) smsBody(code string) string {
	host := h.Config.BaseURL
	if u, err := url.Parse(h.Config.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return fmt.Sprintf("Your SimpleModule verification code is %s. It expires in %s. Don't share it.\n\n@%s #%s", code, web.HumanDuration(h.Config.PhoneCodeTTL), host, code)
}

// ConfirmPhone verifies the code and, atomically, stores the number as
// verified. A failure leaves the stored number as it was.
func (h *Handler) ConfirmPhone(w http.ResponseWriter, r *http.Request) {
	u, _, number, ok := h.phoneForm(w, r)
	if !ok {
		return
	}
	ip := h.Kit.ClientIP(r)
	keep := currentSessionHash(r)
	err := h.Store.ConfirmPhoneCode(r.Context(), u.ID, number, r.PostFormValue("code"), ip, h.phoneLimits(r), func(tx *sql.Tx, stamp string) error {
		return h.Sessions.EndOthers(r.Context(), tx, u.ID, keep, stamp)
	})
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		h.Log.WarnContext(r.Context(), "phone verification locked", "user_id", u.ID, "client_ip", ip)
		h.renderPhone(w, r, 0, throttleMessage(throttled.Reason), "", throttled.RetryAfter)
		return
	case err != nil:
		if msg := codeMessage(err); msg != "" {
			h.renderPhone(w, r, http.StatusUnprocessableEntity, msg, "", 0)
			return
		}
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/phone", "Your phone number "+number+" is verified.")
}

// throttleMessage says why a phone action is throttled; Kit.Throttled adds
// how long to wait.
func throttleMessage(reason string) string {
	switch reason {
	case "cooldown":
		return "A code was sent a moment ago."
	case "locked":
		return "Too many wrong codes, so phone verification is locked for a while."
	case "phone_number cap":
		return "Too many codes were sent to this number in the last hour."
	case "client_ip cap":
		return "Too many codes were requested from your network in the last hour."
	}
	return "Too many attempts."
}

// codeMessage explains a refused code to a person; "" for other errors.
func codeMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrWrongCode), errors.Is(err, store.ErrWrongNumber):
		return "That code is not correct. Check the text message and try again."
	case errors.Is(err, store.ErrCodeExpired):
		return "That code has expired. Send a new code."
	case errors.Is(err, store.ErrCodeBurned):
		return "Too many wrong codes. This code no longer works; send a new code."
	case errors.Is(err, store.ErrCodeUsed):
		return "That code has already been used. Send a new code if you need one."
	case errors.Is(err, store.ErrNoPendingCode):
		return "There is no code waiting for this number. Send a code first."
	}
	return ""
}

// RemovePhone clears the number and its confirmation.
func (h *Handler) RemovePhone(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	if err := h.Store.RemovePhoneNumber(r.Context(), u.ID, h.Kit.ClientIP(r)); err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.Kit.Redirect(w, r, "/account/manage/phone", "Your phone number has been removed.")
}
