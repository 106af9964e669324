package users_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/config"
)

// startPasskeys starts the app as http://localhost:PORT: passkeys need a
// host name as relying party ID.
func startPasskeys(t *testing.T, db string, change func(*config.Config)) *apptest.Env {
	t.Helper()
	return apptest.Start(t, db, func(c *config.Config) {
		apptest.Localhost(c)
		if change != nil {
			change(c)
		}
	})
}

// postJSON posts body as JSON, as passkeys.js does from the same origin.
func postJSON(t *testing.T, e *apptest.Env, c *apptest.Client, path string, body any) *apptest.Response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.Do(req)
}

// jsonField reads one string field of a JSON answer.
func jsonField(t *testing.T, res *apptest.Response, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(res.Body), &m); err != nil {
		t.Fatalf("answer is not JSON: %v; %s", err, apptest.Excerpt(res.Body))
	}
	s, _ := m[field].(string)
	return s
}

// begin starts a ceremony ("register" or "login") and returns its options.
func begin(t *testing.T, e *apptest.Env, c *apptest.Client, kind string) string {
	t.Helper()
	body := map[string]any{}
	if kind == "register" {
		body["password"] = password // adding a passkey asks for the password
	}
	res := postJSON(t, e, c, "/account/passkeys/"+kind+"/begin", body)
	if res.Status != http.StatusOK {
		t.Fatalf("%s begin: got %d, want 200; %s", kind, res.Status, apptest.Excerpt(res.Body))
	}
	return res.Body
}

// addPasskey registers key on c's account as name.
func addPasskey(t *testing.T, e *apptest.Env, c *apptest.Client, key *softKey, name string) {
	t.Helper()
	res := postJSON(t, e, c, "/account/passkeys/register/finish", map[string]any{"credential": key.create(begin(t, e, c, "register")), "name": name})
	if res.Status != http.StatusOK || jsonField(t, res, "redirect") != "/account/manage/passkeys" {
		t.Fatalf("register finish: got %d, want 200 and the passkeys page; %s", res.Status, apptest.Excerpt(res.Body))
	}
}

// passkeySignIn signs c in with key, from begin to finish.
func passkeySignIn(t *testing.T, e *apptest.Env, c *apptest.Client, key *softKey, returnURL string) *apptest.Response {
	t.Helper()
	answer := key.get(begin(t, e, c, "login"))
	return postJSON(t, e, c, "/account/passkeys/login/finish", map[string]any{"credential": answer, "return_url": returnURL})
}

// ceremonyCookie returns the passkey ceremony cookie c holds.
func ceremonyCookie(t *testing.T, e *apptest.Env, c *apptest.Client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(e.URL + "/account/passkeys/login/finish")
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "sm_passkey" {
			return ck
		}
	}
	t.Fatal("no passkey ceremony cookie")
	return nil
}

// signedUpWithPasskey registers addr (email confirmed) and adds one passkey.
func signedUpWithPasskey(t *testing.T, e *apptest.Env, addr string) (*apptest.Client, *softKey) {
	t.Helper()
	c := e.NewClient()
	c.Register(addr, password)
	if res := c.Get(e.LastLink(addr)); res.Status >= 400 {
		t.Fatalf("confirm email: got %d", res.Status)
	}
	if e.Config.RequireConfirmedEmail {
		c.Login(addr, password)
	}
	key := newSoftKey(t, "localhost", e.URL)
	addPasskey(t, e, c, key, "My laptop")
	return c, key
}

func TestPasskeyCeremonies(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		const addr = "pia@example.com"
		owner, key := signedUpWithPasskey(t, e, addr)
		id := userID(t, e, addr)

		t.Run("registration", func(t *testing.T) {
			page := owner.Get("/account/manage/passkeys")
			if flash, _ := apptest.TestID(page.Body, "flash"); !strings.Contains(flash, "My laptop") {
				t.Errorf("flash: got %q, want the passkey named", flash)
			}
			if n := strings.Count(page.Body, `data-testid="passkey"`); n != 1 {
				t.Errorf("passkeys listed: got %d, want 1", n)
			}
			if name, _ := apptest.TestID(page.Body, "passkey-name-shown"); name != "My laptop" {
				t.Errorf("name: got %q, want My laptop", name)
			}
			if used, _ := apptest.TestID(page.Body, "passkey-last-used"); used != "Never" {
				t.Errorf("last used: got %q, want Never", used)
			}
			if n := auditCount(e, "passkey.added", id); n != 1 {
				t.Errorf("audit rows passkey.added: got %d, want 1", n)
			}
			if !hasEvent(e, contracts.PasskeyAdded{UserID: id, Name: "My laptop"}) {
				t.Errorf("events: got %v, want PasskeyAdded", e.Events.All())
			}
			if m, ok := e.Email.Last(addr); !ok || !strings.Contains(m.Subject, "passkey was added") {
				t.Errorf("last email: got %q, want the passkey notice", m.Subject)
			}
			var handle string
			if err := e.App.DB.QueryRow(`SELECT handle FROM passkey_users WHERE user_id = $1`, id).Scan(&handle); err != nil {
				t.Fatal(err)
			}
			if raw, err := b64url.DecodeString(handle); err != nil || len(raw) != 32 || !bytes.Equal(raw, key.handle) {
				t.Errorf("user handle: got %d bytes (%v), want the 32 random bytes the authenticator got", len(raw), err)
			}
		})

		t.Run("sign in", func(t *testing.T) {
			key.counter = 7 // this authenticator keeps a counter
			c := e.NewClient()
			res := passkeySignIn(t, e, c, key, "/account/manage/sessions")
			if res.Status != http.StatusOK || jsonField(t, res, "redirect") != "/account/manage/sessions" {
				t.Fatalf("finish: got %d, want 200 and return_url; %s", res.Status, apptest.Excerpt(res.Body))
			}
			apptest.WantSignedIn(t, c, true)
			if n := e.Count(`SELECT COUNT(*) FROM passkeys WHERE user_id = $1 AND sign_count = 8 AND last_used_at = $2`, id, e.Clock.Now().UnixMilli()); n != 1 {
				t.Errorf("passkey after sign-in: got %d rows with counter 8 and last used now, want 1", n)
			}
			page := c.Get("/account/manage/passkeys")
			if used, _ := apptest.TestID(page.Body, "passkey-last-used"); used == "Never" || used == "" {
				t.Errorf("last used: got %q, want a date", used)
			}
		})

		t.Run("unsafe return_url", func(t *testing.T) {
			res := passkeySignIn(t, e, e.NewClient(), key, "//evil.example/")
			if got := jsonField(t, res, "redirect"); res.Status != http.StatusOK || got != "/account/manage" {
				t.Errorf("finish: got %d to %q, want 200 to /account/manage", res.Status, got)
			}
		})

		// Each refusal: 400 with a message, and nobody signed in.
		refused := func(t *testing.T, c *apptest.Client, res *apptest.Response, wantMsg string) {
			t.Helper()
			if res.Status != http.StatusBadRequest {
				t.Errorf("finish: got %d, want 400; %s", res.Status, apptest.Excerpt(res.Body))
			}
			if msg := jsonField(t, res, "error"); !strings.Contains(msg, wantMsg) {
				t.Errorf("error: got %q, want it to say %q", msg, wantMsg)
			}
			apptest.WantSignedIn(t, c, false)
		}

		t.Run("wrong origin", func(t *testing.T) {
			phish := *key
			phish.origin = "http://evil.example"
			c := e.NewClient()
			refused(t, c, passkeySignIn(t, e, c, &phish, ""), "could not be verified")
		})

		t.Run("wrong relying party", func(t *testing.T) {
			other := *key
			other.rpID = "evil.example"
			c := e.NewClient()
			refused(t, c, passkeySignIn(t, e, c, &other, ""), "could not be verified")
		})

		t.Run("replayed challenge", func(t *testing.T) {
			c := e.NewClient()
			answer := key.get(begin(t, e, c, "login"))
			ck := ceremonyCookie(t, e, c)
			first := postJSON(t, e, c, "/account/passkeys/login/finish", map[string]any{"credential": answer})
			if first.Status != http.StatusOK {
				t.Fatalf("first finish: got %d, want 200; %s", first.Status, apptest.Excerpt(first.Body))
			}
			// An attacker replays the same answer with the same ceremony cookie.
			replay := e.NewClient()
			u, _ := url.Parse(e.URL + "/account/passkeys/")
			replay.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/account/passkeys/"}})
			refused(t, replay, postJSON(t, e, replay, "/account/passkeys/login/finish", map[string]any{"credential": answer}), "already used")
		})

		t.Run("one challenge, two answers at once", func(t *testing.T) {
			c := e.NewClient()
			answer := key.get(begin(t, e, c, "login"))
			ck := ceremonyCookie(t, e, c)
			u, _ := url.Parse(e.URL + "/account/passkeys/")
			statuses := make(chan int, 2)
			for range 2 {
				racer := e.NewClient()
				racer.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/account/passkeys/"}})
				go func() {
					statuses <- postJSON(t, e, racer, "/account/passkeys/login/finish", map[string]any{"credential": answer}).Status
				}()
			}
			got := []int{<-statuses, <-statuses}
			slices.Sort(got)
			if got[0] != http.StatusOK || got[1] != http.StatusBadRequest {
				t.Errorf("statuses: got %v, want one 200 and one 400", got)
			}
		})

		t.Run("expired challenge", func(t *testing.T) {
			c := e.NewClient()
			answer := key.get(begin(t, e, c, "login"))
			e.Clock.Advance(5*time.Minute + time.Second)
			refused(t, c, postJSON(t, e, c, "/account/passkeys/login/finish", map[string]any{"credential": answer}), "expired")
		})

		t.Run("unknown credential", func(t *testing.T) {
			stranger := newSoftKey(t, "localhost", e.URL)
			stranger.handle = key.handle
			c := e.NewClient()
			refused(t, c, passkeySignIn(t, e, c, stranger, ""), "not registered")
		})

		t.Run("no ceremony", func(t *testing.T) {
			c := e.NewClient()
			refused(t, c, postJSON(t, e, c, "/account/passkeys/login/finish", map[string]any{"credential": key.get(begin(t, e, e.NewClient(), "login"))}), "expired")
		})

		t.Run("cross-origin POST", func(t *testing.T) {
			for _, path := range []string{"/account/passkeys/register/begin", "/account/passkeys/register/finish", "/account/passkeys/login/begin", "/account/passkeys/login/finish"} {
				for _, h := range []struct{ name, value string }{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
					req, _ := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(`{}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(h.name, h.value)
					if res := owner.Do(req); res.Status != http.StatusForbidden {
						t.Errorf("%s with %s: %s: got %d, want 403", path, h.name, h.value, res.Status)
					}
				}
			}
		})

		t.Run("registration needs a session", func(t *testing.T) {
			res := postJSON(t, e, e.NewClient(), "/account/passkeys/register/begin", map[string]any{})
			if res.Status != http.StatusUnauthorized {
				t.Errorf("anonymous register begin: got %d, want 401", res.Status)
			}
		})

		t.Run("registration begun by another account", func(t *testing.T) {
			other := e.NewClient()
			other.Register("olaf@example.com", password)
			opts := begin(t, e, other, "register")
			ck := ceremonyCookie(t, e, other)
			u, _ := url.Parse(e.URL + "/account/passkeys/")
			owner.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/account/passkeys/"}})
			res := postJSON(t, e, owner, "/account/passkeys/register/finish", map[string]any{"credential": newSoftKey(t, "localhost", e.URL).create(opts)})
			if res.Status != http.StatusBadRequest {
				t.Errorf("finish with another account's ceremony: got %d, want 400", res.Status)
			}
			if n := e.Count(`SELECT COUNT(*) FROM passkeys WHERE user_id = $1`, id); n != 1 {
				t.Errorf("passkeys: got %d, want 1", n)
			}
		})
	})
}

// An origin listed in SIMPLEMODULE_PASSKEY_ORIGINS (another host under
// the same RP ID) is accepted; any other is not.
func TestPasskeyExtraOrigins(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		const extra = "https://accounts.localhost"
		e := startPasskeys(t, db, func(c *config.Config) { c.PasskeyOrigins = []string{extra} })
		_, key := signedUpWithPasskey(t, e, "oda@example.com")
		tests := []struct {
			name, origin string
			wantStatus   int
		}{
			{name: "listed origin", origin: extra, wantStatus: http.StatusOK},
			{name: "unlisted origin", origin: "https://other.localhost", wantStatus: http.StatusBadRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				k := *key
				k.origin = tt.origin
				if res := passkeySignIn(t, e, e.NewClient(), &k, ""); res.Status != tt.wantStatus {
					t.Errorf("finish from %s: got %d, want %d; %s", tt.origin, res.Status, tt.wantStatus, apptest.Excerpt(res.Body))
				}
			})
		}
	})
}

func TestPasskeySignInRules(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, func(c *config.Config) { c.RequireConfirmedEmail = true })
		const addr = "rui@example.com"
		owner, key := signedUpWithPasskey(t, e, addr)
		id := userID(t, e, addr)
		admin, err := e.App.Users.CreateUser(t.Context(), "root@example.com", password, true)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("ends the old session", func(t *testing.T) {
			before := e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, id)
			if res := passkeySignIn(t, e, owner, key, ""); res.Status != http.StatusOK {
				t.Fatalf("finish: got %d; %s", res.Status, apptest.Excerpt(res.Body))
			}
			if after := e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, id); after != before {
				t.Errorf("sessions: got %d, want %d (the old one ended, a new one started)", after, before)
			}
			apptest.WantSignedIn(t, owner, true)
		})

		t.Run("unconfirmed email", func(t *testing.T) {
			if err := e.App.Users.Admin().ForceEmailReverification(t.Context(), admin.ID, id, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			c := e.NewClient()
			res := passkeySignIn(t, e, c, key, "")
			if res.Status != http.StatusForbidden || !strings.Contains(jsonField(t, res, "error"), "Confirm your email") {
				t.Errorf("finish: got %d %q, want 403 asking to confirm the email", res.Status, jsonField(t, res, "error"))
			}
			apptest.WantSignedIn(t, c, false)
		})

		t.Run("locked by an administrator", func(t *testing.T) {
			if err := e.App.Users.Admin().Lock(t.Context(), admin.ID, id, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
			c := e.NewClient()
			res := passkeySignIn(t, e, c, key, "")
			if res.Status != http.StatusForbidden || !strings.Contains(jsonField(t, res, "error"), "locked by an administrator") {
				t.Errorf("finish: got %d %q, want 403 saying an administrator locked it", res.Status, jsonField(t, res, "error"))
			}
			apptest.WantSignedIn(t, c, false)
		})
	})
}

func TestPasskeysOffOnIPAddress(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil) // http://127.0.0.1:PORT
		if !strings.Contains(e.Log.String(), "passkeys are off") {
			t.Errorf("start-up log: want a warning that passkeys are off; got %s", e.Log.String())
		}
		c := e.NewClient()
		c.Register("ida@example.com", password)
		if page := c.Get("/account/manage/passkeys"); page.Status != http.StatusOK || !strings.Contains(page.Body, `data-testid="passkeys-off"`) {
			t.Errorf("passkeys page: got %d, want 200 saying passkeys are off", page.Status)
		}
		res := postJSON(t, e, c, "/account/passkeys/login/begin", map[string]any{})
		if res.Status != http.StatusServiceUnavailable {
			t.Errorf("login begin: got %d, want 503", res.Status)
		}
		// The sign-in page offers no passkey button it could not honour.
		login := e.NewClient().Get("/account/login")
		for _, absent := range []string{`data-testid="passkey-sign-in"`, "passkeys.js", "webauthn"} {
			if strings.Contains(login.Body, absent) {
				t.Errorf("sign-in page with passkeys off holds %q", absent)
			}
		}
	})
}

// With passkeys on, the sign-in page offers them: the button, the script
// and conditional UI on the email field.
func TestPasskeySignInOffered(t *testing.T) {
	e := apptest.Start(t, "sqlite", apptest.Localhost)
	login := e.NewClient().Get("/account/login")
	for _, present := range []string{`data-testid="passkey-sign-in"`, `src="/static/passkeys.js"`, `autocomplete="username webauthn"`} {
		if !strings.Contains(login.Body, present) {
			t.Errorf("sign-in page with passkeys on lacks %q", present)
		}
	}
}

// Every ceremony begun stores a row, so one network may begin only so many.
func TestPasskeyBeginThrottled(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := startPasskeys(t, db, nil)
		c := e.NewClient()
		const perNetwork = 300 // passkeyBeginsPerNet
		for i := range perNetwork {
			if res := postJSON(t, e, c, "/account/passkeys/login/begin", map[string]any{}); res.Status != http.StatusOK {
				t.Fatalf("begin %d: got %d, want 200", i+1, res.Status)
			}
		}
		res := postJSON(t, e, c, "/account/passkeys/login/begin", map[string]any{})
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(jsonField(t, res, "error"), "Too many passkey requests") {
			t.Errorf("begin %d: got %d (Retry-After %q) %q, want 429 with Retry-After and why", perNetwork+1, res.Status, res.Header.Get("Retry-After"), res.Body)
		}
		e.Clock.Advance(15 * time.Minute)
		if res := postJSON(t, e, c, "/account/passkeys/login/begin", map[string]any{}); res.Status != http.StatusOK {
			t.Errorf("begin after the window: got %d, want 200", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM passkey_challenges`); n != 1 {
			t.Errorf("challenge rows after the window: got %d, want 1 (expired ones dropped)", n)
		}
	})
}
