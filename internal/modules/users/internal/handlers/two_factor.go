package handlers

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pageTwoFactor     = "users/account/manage/two-factor"
	pageAuthenticator = "users/account/manage/two-factor-authenticator"
	pageRecoveryCodes = "users/account/manage/recovery-codes"
	twoFactorPath     = "/account/manage/two-factor"
)

type twoFactorView struct {
	Status         account.TwoFactorStatus
	SMSNumber      string // masked
	PhoneConfirmed bool   // a confirmed number SMS could be turned on for
	PhoneNumber    string // masked
	Open           string // the form to show open after an error: "sms", "codes", "disable"
}

func (h *Handler) twoFactorView(w http.ResponseWriter, r *http.Request, open string) (web.View, bool) {
	u := currentUser(r)
	st, err := h.Accounts.TwoFactorStatus(r.Context(), u.ID)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return web.View{}, false
	}
	v := twoFactorView{Status: st, PhoneConfirmed: u.PhoneNumber != "" && u.PhoneNumberConfirmed, Open: open}
	if st.SMSNumber != "" {
		v.SMSNumber = phone.Mask(st.SMSNumber)
	}
	if u.PhoneNumber != "" {
		v.PhoneNumber = phone.FormatInternational(u.PhoneNumber)
	}
	return web.View{Title: "Two-factor sign-in", Data: v}, true
}

// TwoFactorPage shows two-factor status, methods and actions.
func (h *Handler) TwoFactorPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := h.twoFactorView(w, r, ""); ok {
		h.Kit.Render(w, r, http.StatusOK, pageTwoFactor, v)
	}
}

// twoFactorFailed shows the status page again with the error of the form open.
func (h *Handler) twoFactorFailed(w http.ResponseWriter, r *http.Request, err error, open string) {
	if v, ok := h.twoFactorView(w, r, open); ok {
		h.fail(w, r, err, pageTwoFactor, v)
	}
}

type authenticatorView struct {
	Setup account.AuthenticatorSetup
	On    bool // two-factor already on
}

func (h *Handler) authenticatorView(w http.ResponseWriter, r *http.Request) (web.View, bool) {
	u := currentUser(r)
	setup, err := h.Accounts.AuthenticatorSetup(r.Context(), u)
	if err != nil {
		h.Kit.ServerError(w, r, err)
		return web.View{}, false
	}
	return web.View{Title: "Set up an authenticator app", Data: authenticatorView{Setup: setup, On: u.TwoFactorEnabled}}, true
}

// AuthenticatorPage shows the QR code and key of the authenticator being set up.
func (h *Handler) AuthenticatorPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := h.authenticatorView(w, r); ok {
		h.Kit.Render(w, r, http.StatusOK, pageAuthenticator, v)
	}
}

// EnableAuthenticator confirms the authenticator with a code.
func (h *Handler) EnableAuthenticator(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	codes, err := h.Accounts.EnableAuthenticator(r.Context(), currentUser(r).ID, r.PostFormValue("code"), r.PostFormValue("password"), currentSessionHash(r), h.client(r))
	if err != nil {
		if v, ok := h.authenticatorView(w, r); ok {
			h.fail(w, r, err, pageAuthenticator, v)
		}
		return
	}
	h.showCodes(w, r, codes, "Your authenticator app is set up. Two-factor sign-in is on.")
}

// showCodes shows new recovery codes once, or, when there are none (two-factor
// was on already), goes back to the status page with flash.
func (h *Handler) showCodes(w http.ResponseWriter, r *http.Request, codes []string, flash string) {
	if len(codes) == 0 {
		h.Kit.Redirect(w, r, twoFactorPath, flash)
		return
	}
	h.Kit.Render(w, r, http.StatusOK, pageRecoveryCodes, web.View{Title: "Your recovery codes", Flash: flash,
		Data: recoveryCodesView{Codes: codes, Download: downloadURL(strings.Join(codes, "\n") + "\n")}})
}

type recoveryCodesView struct {
	Codes    []string
	Download template.URL // data: URI of the .txt download
}

// downloadURL is a data: URI of text, for a download link that needs no
// request (the codes are never stored readable, so none could serve them).
func downloadURL(text string) template.URL {
	return template.URL("data:text/plain;charset=utf-8," + url.PathEscape(text))
}

// EnableSMS turns on SMS to the confirmed number.
func (h *Handler) EnableSMS(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	codes, err := h.Accounts.EnableSMSTwoFactor(r.Context(), currentUser(r).ID, r.PostFormValue("password"), currentSessionHash(r), h.client(r))
	if err != nil {
		h.twoFactorFailed(w, r, err, "sms")
		return
	}
	h.showCodes(w, r, codes, "Sign-in codes will be texted to your confirmed number. Two-factor sign-in is on.")
}

// RegenerateRecoveryCodes replaces the recovery codes and shows the new ones.
func (h *Handler) RegenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	codes, err := h.Accounts.RegenerateRecoveryCodes(r.Context(), currentUser(r).ID, r.PostFormValue("password"), currentSessionHash(r), h.client(r))
	if err != nil {
		h.twoFactorFailed(w, r, err, "codes")
		return
	}
	h.showCodes(w, r, codes, "New recovery codes made. The old ones no longer work.")
}

// DisableTwoFactor turns two-factor off after the password.
func (h *Handler) DisableTwoFactor(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	if err := h.Accounts.DisableTwoFactor(r.Context(), currentUser(r).ID, r.PostFormValue("password"), currentSessionHash(r), h.client(r)); err != nil {
		h.twoFactorFailed(w, r, err, "disable")
		return
	}
	h.Kit.Redirect(w, r, twoFactorPath, "Two-factor sign-in is off. Your password alone now signs you in.")
}

// ForgetBrowsers forgets every remembered browser.
func (h *Handler) ForgetBrowsers(w http.ResponseWriter, r *http.Request) {
	if err := h.Accounts.ForgetBrowsers(r.Context(), currentUser(r).ID, h.client(r)); err != nil {
		h.Kit.ServerError(w, r, err)
		return
	}
	h.clearCookie(w, rememberCookie)
	h.Kit.Redirect(w, r, twoFactorPath, "Every remembered browser will be asked for a code at the next sign-in.")
}
