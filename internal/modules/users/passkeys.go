package users

import (
	"log/slog"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/account"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/handlers"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// relyingParty is the passkey relying party of the base URL, or nil — with
// a warning saying why and what to do — when its host cannot be one.
// Start-up goes on without passkeys rather than failing.
func relyingParty(c config.Config, log *slog.Logger) *webauthn.WebAuthn {
	rp, err := account.NewRelyingParty(c.BaseURL, c.PasskeyOrigins)
	if err != nil {
		log.Warn("passkeys are off: set SIMPLEMODULE_BASE_URL to a URL with a host name", "reason", err.Error())
		return nil
	}
	return rp
}

// addPasskeys registers the passkey pages and routes (SPEC §9): the manage
// page with rename and delete forms, and the JSON ceremony endpoints the
// script /static/passkeys.js calls.
func addPasskeys(reg *web.Registry, h *handlers.Handler) {
	const page = "users/account/manage/passkeys"
	signedIn := h.RequireUser
	reg.Pages = append(reg.Pages, web.Page{Name: page, Template: "pages/account/manage/passkeys.html"})
	reg.Routes = append(reg.Routes,
		web.Route{Pattern: "GET /account/manage/passkeys", Pages: []string{page}, Handler: signedIn(h.PasskeysPage)},
		web.Route{Pattern: "POST /account/manage/passkeys/{id}/rename", Pages: []string{page}, Handler: signedIn(h.RenamePasskey)},
		web.Route{Pattern: "POST /account/manage/passkeys/{id}/delete", Pages: []string{page}, Handler: signedIn(h.DeletePasskey)},
		web.Route{Pattern: "POST /account/passkeys/register/begin", Handler: fn(h.BeginPasskeyRegistration), Back: "/account/manage/passkeys"},
		web.Route{Pattern: "POST /account/passkeys/register/finish", Handler: fn(h.FinishPasskeyRegistration), Back: "/account/manage/passkeys"},
		web.Route{Pattern: "POST /account/passkeys/login/begin", Handler: fn(h.BeginPasskeySignIn), Back: "/account/login"},
		web.Route{Pattern: "POST /account/passkeys/login/finish", Handler: fn(h.FinishPasskeySignIn), Back: "/account/login"},
	)
}
