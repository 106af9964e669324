package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
	"github.com/simplemodule-go/simplemodule/internal/platform/session"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

const (
	pageLoginTwoFactor = "users/account/login-two-factor"
	pageLoginRecovery  = "users/account/login-recovery-code"
)

// pendingCookie holds the half-signed-in state between the password and
// the second step; rememberCookie a remembered browser. Both are signed by
// the server and sent only to the sign-in pages.
var (
	pendingCookie  = cookie{name: "sm_2fa_pending", path: "/account/login", sameSite: http.SameSiteLaxMode}
	rememberCookie = cookie{name: "sm_2fa_browser", path: "/account/login", sameSite: http.SameSiteLaxMode}
)

func (h *Handler) setPending(w http.ResponseWriter, token string) {
	h.setCookie(w, pendingCookie, token, account.PendingSignInTTL)
}

func rememberedBrowser(r *http.Request) string { return rememberCookie.value(r) }

// secondStepURL is path keeping return_url, when there is one.
func secondStepURL(path, returnURL string) string {
	if returnURL == "" {
		return path
	}
	return path + "?return_url=" + url.QueryEscape(returnURL)
}

type secondStepForm struct {
	ReturnURL     string
	Authenticator bool
	SMSUsable     bool
	SMSNumber     string // masked
	Remember      bool   // remember_browser ticked
}

// secondStep reads the half-signed-in state; false means the person was
// sent back to the sign-in page (the state is gone or expired).
func (h *Handler) secondStep(w http.ResponseWriter, r *http.Request, returnURL string) (account.SecondStep, bool) {
	st, err := h.Accounts.SecondStep(r.Context(), pendingCookie.value(r))
	switch {
	case errors.Is(err, account.ErrSecondStepExpired):
		h.clearCookie(w, pendingCookie)
		h.Kit.Redirect(w, r, secondStepURL("/account/login", returnURL), "Your sign-in expired after 5 minutes. Sign in again.")
		return st, false
	case err != nil:
		h.clearCookie(w, pendingCookie)
		h.fail(w, r, err, pageLogin, h.loginView(loginForm{ReturnURL: returnURL}))
		return st, false
	}
	return st, true
}

func secondStepView(st account.SecondStep, returnURL string, remember bool) web.View {
	f := secondStepForm{ReturnURL: returnURL, Authenticator: st.Authenticator, SMSUsable: st.SMSUsable, Remember: remember}
	if st.SMSUsable {
		f.SMSNumber = phone.Mask(st.SMSNumber)
	}
	return web.View{Title: "Two-factor sign-in", Data: f}
}

// SecondStepPage asks for the second factor.
func (h *Handler) SecondStepPage(w http.ResponseWriter, r *http.Request) {
	h.stepPage(w, r, pageLoginTwoFactor)
}

// stepPage shows page of the second step while the half-signed-in state holds.
func (h *Handler) stepPage(w http.ResponseWriter, r *http.Request, page string) {
	returnURL := web.SafeReturnURL(r.URL.Query().Get("return_url"), "")
	st, ok := h.secondStep(w, r, returnURL)
	if !ok {
		return
	}
	h.Kit.Render(w, r, http.StatusOK, page, secondStepView(st, returnURL, false))
}

// SecondStep checks an authenticator or SMS code and signs in.
func (h *Handler) SecondStep(w http.ResponseWriter, r *http.Request) {
	h.completeStep(w, r, pageLoginTwoFactor, func(st account.SecondStep, code string, remember bool) (account.SecondStepResult, error) {
		return h.Accounts.CompleteSignIn(r.Context(), st, code, remember, session.Token(r), h.client(r))
	})
}

// completeStep reads the second-step form and, while the half-signed-in
// state holds, finishes the sign-in with complete: the session, and the
// remembered browser when asked; page again with the error otherwise.
func (h *Handler) completeStep(w http.ResponseWriter, r *http.Request, page string,
	complete func(st account.SecondStep, code string, remember bool) (account.SecondStepResult, error)) {
	if !h.parseForm(w, r) {
		return
	}
	returnURL := web.SafeReturnURL(r.PostFormValue("return_url"), "")
	remember := r.PostFormValue("remember_browser") != ""
	st, ok := h.secondStep(w, r, returnURL)
	if !ok {
		return
	}
	res, err := complete(st, strings.TrimSpace(r.PostFormValue("code")), remember)
	if err != nil {
		h.fail(w, r, err, page, secondStepView(st, returnURL, remember))
		return
	}
	h.clearCookie(w, pendingCookie)
	if res.RememberBrowser != "" {
		h.setCookie(w, rememberCookie, res.RememberBrowser, account.RememberBrowserTTL)
	}
	h.startSession(w, res.Session)
	h.Kit.Redirect(w, r, web.SafeReturnURL(returnURL, "/account/manage"), "")
}

// SendSignInCode texts a sign-in code to the confirmed number.
func (h *Handler) SendSignInCode(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	returnURL := web.SafeReturnURL(r.PostFormValue("return_url"), "")
	st, ok := h.secondStep(w, r, returnURL)
	if !ok {
		return
	}
	err := h.Accounts.SendSignInCode(r.Context(), st, h.client(r))
	if err != nil {
		h.fail(w, r, err, pageLoginTwoFactor, secondStepView(st, returnURL, false))
		return
	}
	h.Kit.Redirect(w, r, secondStepURL("/account/login/two-factor", returnURL), "We texted a sign-in code to "+phone.Mask(st.SMSNumber)+". It expires in 5 minutes.")
}

// RecoveryCodePage asks for a recovery code.
func (h *Handler) RecoveryCodePage(w http.ResponseWriter, r *http.Request) {
	h.stepPage(w, r, pageLoginRecovery)
}

// RecoveryCode signs in with a recovery code, using it up.
func (h *Handler) RecoveryCode(w http.ResponseWriter, r *http.Request) {
	h.completeStep(w, r, pageLoginRecovery, func(st account.SecondStep, code string, _ bool) (account.SecondStepResult, error) {
		return h.Accounts.CompleteSignInWithRecoveryCode(r.Context(), st, code, session.Token(r), h.client(r))
	})
}
