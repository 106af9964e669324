package users_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/internal/twofactor"
)

// TestTwoFactorInPersonalData: the download says which two-factor methods
// are on and how many recovery codes are left, and holds neither the
// authenticator key (plain or sealed) nor a recovery code or its hash;
// deleting the account removes the recovery codes.
func TestTwoFactorInPersonalData(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		const addr = "pd2fa@example.com"
		c := e.NewClient()
		c.Register(addr, password)
		c.Get(e.LastLink(addr))
		c.Login(addr, password)
		id := userID(t, e, addr)

		page := c.Get("/account/manage/two-factor/authenticator")
		shown, ok := apptest.TestID(page.Body, "authenticator-key")
		if !ok {
			t.Fatalf("no authenticator key on the setup page")
		}
		key := strings.ReplaceAll(shown, " ", "")
		code, err := twofactor.Code(key, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		res := c.Post("/account/manage/two-factor/authenticator", apptest.Form("code", code))
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `data-testid="recovery-code"`) {
			t.Fatalf("turning the authenticator on: got %d, want 200 with recovery codes", res.Status)
		}
		first, _ := apptest.TestID(res.Body, "recovery-code")

		var sealed string
		if err := e.App.DB.QueryRowContext(t.Context(), `SELECT totp_secret FROM users WHERE id = $1`, id).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if sealed == "" || strings.Contains(sealed, key) {
			t.Fatalf("stored authenticator key %q: want it sealed, not readable", sealed)
		}
		hashes := e.Count(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`, id)
		if hashes != twofactor.RecoveryCodes {
			t.Fatalf("recovery code rows: got %d, want %d", hashes, twofactor.RecoveryCodes)
		}

		dl := c.Post("/account/manage/personal-data/download", nil)
		if dl.Status != http.StatusOK {
			t.Fatalf("download: got %d", dl.Status)
		}
		var p struct {
			TwoFactorEnabled bool `json:"two_factor_enabled"`
			TwoFactor        struct {
				Authenticator     bool `json:"authenticator"`
				RecoveryCodesLeft int  `json:"recovery_codes_left"`
			} `json:"two_factor"`
		}
		if err := json.Unmarshal([]byte(dl.Body), &p); err != nil {
			t.Fatalf("download is not JSON: %v", err)
		}
		if !p.TwoFactorEnabled || !p.TwoFactor.Authenticator || p.TwoFactor.RecoveryCodesLeft != twofactor.RecoveryCodes {
			t.Errorf("download's two-factor: got %+v (enabled %v), want the authenticator on and %d codes left", p.TwoFactor, p.TwoFactorEnabled, twofactor.RecoveryCodes)
		}
		rows, err := e.App.DB.QueryContext(t.Context(), `SELECT code_hash FROM recovery_codes WHERE user_id = $1`, id)
		if err != nil {
			t.Fatal(err)
		}
		secretsOut := []string{key, shown, sealed, first, strings.ReplaceAll(first, "-", "")}
		for rows.Next() {
			var h string
			rows.Scan(&h)
			secretsOut = append(secretsOut, h)
		}
		rows.Close()
		for _, s := range secretsOut {
			if s != "" && strings.Contains(dl.Body, s) {
				t.Errorf("the download holds the secret %q", s)
			}
		}

		if res := c.Post("/account/manage/delete-account", apptest.Form("password", password)); res.Status != http.StatusSeeOther {
			t.Fatalf("delete account: got %d, want 303", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1`, id); n != 0 {
			t.Errorf("recovery codes after deleting the account: got %d rows, want 0", n)
		}
	})
}
