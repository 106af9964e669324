package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/database"
)

const (
	pdNumber   = "+14155550132"
	pdNewEmail = "ann.new@example.com"
)

// pdAccount is a user with something in every table: a confirmed email
// and phone number, a pending email change, two signed-in browsers, and an
// audit row where they acted on someone else.
type pdAccount struct {
	ID, Email    string
	Main, Other  *apptest.Client
	PhoneCode    string // the last code texted to the user
	LinkToken    string // the token of the last link emailed to the user
	PendingToken string // the token of the pending email change's link
}

// linkToken returns the code parameter of the latest link emailed to addr.
func linkToken(t *testing.T, e *apptest.Env, addr string) string {
	t.Helper()
	u, err := url.Parse(e.LastLink(addr))
	if err != nil {
		t.Fatal(err)
	}
	code := u.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in the link to %s", addr)
	}
	return code
}

func pdSetUp(t *testing.T, e *apptest.Env, addr string) pdAccount {
	t.Helper()
	a := pdAccount{Email: addr, Main: e.NewClient(), Other: e.NewClient()}
	a.Main.Register(addr, password)
	a.ID = userID(t, e, addr)
	a.LinkToken = linkToken(t, e, addr)
	if res := a.Main.Get(e.LastLink(addr)); res.Status >= 400 {
		t.Fatalf("confirm email: got %d", res.Status)
	}
	phoneVerify(t, e, a.Main, pdNumber)
	a.PhoneCode = e.LastCode(pdNumber)
	res := a.Main.Post("/account/manage/email", apptest.Form("action", "change", "new_email", pdNewEmail, "current_password", password))
	if res.Status != http.StatusSeeOther {
		t.Fatalf("request email change: got %d; %s", res.Status, apptest.Excerpt(res.Body))
	}
	a.PendingToken = linkToken(t, e, pdNewEmail)
	a.Other.Login(addr, password)
	return a
}

// download posts the download form and decodes the file.
func download(t *testing.T, c *apptest.Client) (*apptest.Response, map[string]any) {
	t.Helper()
	res := c.Post("/account/manage/personal-data/download", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("download: got %d, want 200; %s", res.Status, apptest.Excerpt(res.Body))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(res.Body), &doc); err != nil {
		t.Fatalf("download is not JSON: %v; %s", err, apptest.Excerpt(res.Body))
	}
	return res, doc
}

// secretsOf reads every secret stored for the user: hashes, stamp, tokens.
func secretsOf(t *testing.T, e *apptest.Env, userID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var hash, stamp string
	if err := e.App.DB.QueryRow(`SELECT password_hash, security_stamp FROM users WHERE id = $1`, userID).Scan(&hash, &stamp); err != nil {
		t.Fatal(err)
	}
	out["password hash"], out["security stamp"] = hash, stamp
	for _, q := range []struct{ name, query string }{
		{"link token hash", `SELECT token_hash FROM user_tokens WHERE user_id = $1`},
		{"phone code hash", `SELECT code_hash FROM phone_codes WHERE user_id = $1`},
		{"session token hash", `SELECT id_hash FROM sessions WHERE user_id = $1`},
		{"session stamp", `SELECT security_stamp FROM sessions WHERE user_id = $1`},
	} {
		rows, err := e.App.DB.Query(q.query, userID)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; rows.Next(); i++ {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s %d", q.name, i)] = v
		}
		rows.Close()
	}
	return out
}

func TestPersonalDataDownload(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := pdSetUp(t, e, "ann@example.com")

		page := ann.Main.Get("/account/manage/personal-data")
		if page.Status != http.StatusOK || !strings.Contains(page.Body, `action="/account/manage/personal-data/download"`) ||
			!strings.Contains(page.Body, `action="/account/manage/delete-account"`) {
			t.Fatalf("personal data page: got %d without both forms; %s", page.Status, apptest.Excerpt(page.Body))
		}
		if !strings.Contains(page.Body, `href="/account/manage/personal-data" aria-current="page"`) {
			t.Errorf("personal data page: the Personal data tab is not marked current")
		}

		res, doc := download(t, ann.Main)
		if got := res.Header.Get("Content-Disposition"); got != `attachment; filename="personal-data.json"` {
			t.Errorf("Content-Disposition: got %q, want attachment personal-data.json", got)
		}
		if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Errorf("Content-Type: got %q, want application/json", got)
		}

		t.Run("holds the user's data", func(t *testing.T) {
			var p struct {
				Profile struct{ ID string }
				Email   struct {
					Address     string
					Confirmed   bool
					ConfirmedAt string `json:"confirmed_at"`
				}
				Phone struct {
					Number      string
					Confirmed   bool
					ConfirmedAt string `json:"confirmed_at"`
				}
				Roles      []string
				Sessions   []map[string]any
				EmailLinks []struct {
					Purpose string
					For     string `json:"for_address"`
				} `json:"email_links"`
				PhoneCodes []struct {
					PhoneNumber string `json:"phone_number"`
				} `json:"phone_codes"`
				AuditTrail []struct{ Action, Actor string } `json:"audit_trail"`
				Messages   []map[string]any
				TwoFactor  *bool `json:"two_factor_enabled"`
			}
			if err := json.Unmarshal([]byte(res.Body), &p); err != nil {
				t.Fatal(err)
			}
			if p.Profile.ID != ann.ID || p.Email.Address != ann.Email || !p.Email.Confirmed || p.Email.ConfirmedAt == "" {
				t.Errorf("profile and email: got %+v %+v, want id %s, %s confirmed with a date", p.Profile, p.Email, ann.ID, ann.Email)
			}
			if p.Phone.Number != pdNumber || !p.Phone.Confirmed || p.Phone.ConfirmedAt == "" {
				t.Errorf("phone: got %+v, want %s confirmed with a date", p.Phone, pdNumber)
			}
			if len(p.Sessions) != 2 {
				t.Errorf("sessions: got %d, want 2", len(p.Sessions))
			}
			for _, s := range p.Sessions {
				if s["client_ip"] != "127.0.0.1" || s["browser"] == "" || s["user_agent"] == "" || s["signed_in_at"] == nil {
					t.Errorf("session: got %v, want its browser, IP 127.0.0.1 and sign-in time", s)
				}
			}
			if p.TwoFactor == nil {
				t.Error("two_factor_enabled: missing")
			}
			var pending bool
			for _, l := range p.EmailLinks {
				pending = pending || (l.Purpose == "change-email" && l.For == pdNewEmail)
			}
			if !pending {
				t.Errorf("email links: got %+v, want the pending change to %s", p.EmailLinks, pdNewEmail)
			}
			if len(p.PhoneCodes) != 1 || p.PhoneCodes[0].PhoneNumber != pdNumber {
				t.Errorf("phone codes: got %+v, want the one sent to %s", p.PhoneCodes, pdNumber)
			}
			actions := map[string]string{}
			for _, a := range p.AuditTrail {
				actions[a.Action] = a.Actor
			}
			for _, want := range []string{"user.registered", "email.confirmed", "phone.confirmed"} {
				if actions[want] == "" {
					t.Errorf("audit trail: no %s in %v", want, actions)
				}
			}
			if actions["phone.confirmed"] != "you" {
				t.Errorf("audit trail: phone.confirmed by %q, want you", actions["phone.confirmed"])
			}
			seen := map[string]bool{}
			for _, m := range p.Messages {
				seen[fmt.Sprint(m["channel"], " ", m["recipient"])] = true
				for _, k := range []string{"body", "html", "text"} {
					if _, ok := m[k]; ok {
						t.Errorf("message %v: has a %s", m, k)
					}
				}
			}
			for _, want := range []string{"email " + ann.Email, "sms " + pdNumber, "email " + pdNewEmail} {
				if !seen[want] {
					t.Errorf("messages: none by %s in %v", want, seen)
				}
			}
		})

		t.Run("holds no secret", func(t *testing.T) {
			secrets := secretsOf(t, e, ann.ID)
			secrets["phone code"], secrets["confirmation link token"], secrets["email change link token"] = ann.PhoneCode, ann.LinkToken, ann.PendingToken
			if len(secrets) < 9 {
				t.Fatalf("secrets found: got %d (%v), want at least 9", len(secrets), secrets)
			}
			for name, v := range secrets {
				if v == "" {
					t.Errorf("%s: empty, so the search proves nothing", name)
					continue
				}
				// A code is six digits: look for it standing alone, not
				// inside a phone number or a date.
				if regexp.MustCompile(`(^|[^0-9])` + regexp.QuoteMeta(v) + `([^0-9]|$)`).MatchString(res.Body) {
					t.Errorf("the download holds the %s", name)
				}
			}
			for _, word := range []string{"password", "hash", "stamp", "token"} {
				if strings.Contains(strings.ToLower(res.Body), word) {
					t.Errorf("the download mentions %q", word)
				}
			}
			_ = doc
		})

		t.Run("signed out", func(t *testing.T) {
			res := e.NewClient().Post("/account/manage/personal-data/download", nil)
			if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/account/login") {
				t.Errorf("anonymous download: got %d to %q, want 303 to sign in", res.Status, res.Header.Get("Location"))
			}
		})
	})
}

func TestDeleteAccountWrongPassword(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ann := pdSetUp(t, e, "ann@example.com")
		before := e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, ann.ID)

		res := ann.Main.Post("/account/manage/delete-account", apptest.Form("password", "not the password"))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong password: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "password is not correct") {
			t.Errorf("form error: got %q, want the password is not correct", msg)
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE id = $1`, ann.ID); n != 1 {
			t.Errorf("users: got %d rows, want 1 (nothing deleted)", n)
		}
		if n := e.Count(`SELECT COUNT(*) FROM sessions WHERE user_id = $1`, ann.ID); n != before {
			t.Errorf("sessions: got %d, want %d", n, before)
		}
		if n := e.Count(`SELECT failed_sign_ins FROM users WHERE id = $1`, ann.ID); n != 1 {
			t.Errorf("failed sign-ins: got %d, want 1 (counts towards the lockout)", n)
		}
		apptest.WantSignedIn(t, ann.Main, true)
		if hasDeleted(e) {
			t.Error("AccountDeleted was published")
		}

		// Four more wrong passwords lock the account, as changing the password does.
		for range 4 {
			res = ann.Main.Post("/account/manage/delete-account", apptest.Form("password", "not the password"))
		}
		if res.Status != http.StatusTooManyRequests {
			t.Errorf("fifth wrong password: got %d, want 429", res.Status)
		}
		if res := ann.Main.Post("/account/manage/delete-account", apptest.Form("password", password)); res.Status != http.StatusTooManyRequests {
			t.Errorf("right password while locked: got %d, want 429", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE id = $1`, ann.ID); n != 1 {
			t.Errorf("users while locked: got %d rows, want 1", n)
		}
	})
}

func hasDeleted(e *apptest.Env) bool {
	for _, ev := range e.Events.All() {
		if _, ok := ev.(contracts.AccountDeleted); ok {
			return true
		}
	}
	return false
}

// column is one column of one table.
type column struct{ table, name string }

// schemaColumns lists every column of every table of the application's
// schema, from the database's own catalogue, so a table added later is
// checked too.
func schemaColumns(t *testing.T, e *apptest.Env) []column {
	t.Helper()
	var query string
	if e.App.DB.Dialect == database.Postgres {
		query = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`
	} else {
		query = `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`
	}
	rows, err := e.App.DB.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rowsHolding counts the rows of c's table whose c column holds any of
// values, as text, case-insensitively.
func rowsHolding(t *testing.T, e *apptest.Env, c column, where string, values ...string) int {
	t.Helper()
	var conds []string
	var args []any
	for _, v := range values {
		args = append(args, "%"+strings.ToLower(v)+"%")
		conds = append(conds, fmt.Sprintf(`LOWER(CAST("%s" AS TEXT)) LIKE $%d`, c.name, len(args)))
	}
	q := fmt.Sprintf(`SELECT COUNT(*) FROM "%s" WHERE (%s)%s`, c.table, strings.Join(conds, " OR "), where)
	return e.Count(q, args...)
}

func TestDeleteAccount(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ctx := context.Background()
		bob, err := e.App.Users.CreateUser(ctx, "bob@example.com", password, false)
		if err != nil {
			t.Fatal(err)
		}
		ann := pdSetUp(t, e, "ann@example.com")
		// Ann acted on Bob: the row is Bob's, with Ann as actor.
		if err := e.App.Users.Admin().ForceEmailReverification(ctx, ann.ID, bob.ID, "192.0.2.7"); err != nil {
			t.Fatal(err)
		}
		annRows := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1`, ann.ID)
		bobRows := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1`, bob.ID)
		if annRows < 4 {
			t.Fatalf("audit rows about ann before: got %d, want at least 4", annRows)
		}
		identifiers := []string{ann.ID, ann.Email, pdNewEmail, pdNumber, strings.TrimPrefix(pdNumber, "+")}
		// Every identifier is somewhere before the deletion: the search below finds what it looks for.
		for _, v := range identifiers {
			found := 0
			for _, c := range schemaColumns(t, e) {
				found += rowsHolding(t, e, c, "", v)
			}
			if found == 0 {
				t.Fatalf("before deletion: %q is in no row, so its absence after would prove nothing", v)
			}
		}

		res := ann.Main.Post("/account/manage/delete-account", apptest.Form("password", password))
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/account/deleted" {
			t.Fatalf("delete: got %d to %q, want 303 to /account/deleted; %s", res.Status, res.Header.Get("Location"), apptest.Excerpt(res.Body))
		}
		if ck, ok := responseCookie(res, "sm_session"); !ok || ck.MaxAge >= 0 {
			t.Errorf("session cookie: got %v, want it cleared", ck)
		}
		after := ann.Main.Get("/account/deleted")
		if flash, _ := apptest.TestID(after.Body, "flash"); flash != "Your account has been deleted." {
			t.Errorf("flash: got %q, want the account deleted", flash)
		}
		if keeps, ok := apptest.TestID(strings.ReplaceAll(after.Body, "</ul>", "</p>"), "deletion-keeps"); !ok || !strings.Contains(keeps, "pseudonym") {
			t.Errorf("page after: got %q, want what was kept and why", keeps)
		}
		apptest.WantSignedIn(t, ann.Main, false)
		apptest.WantSignedIn(t, ann.Other, false)
		if res := e.NewClient().SubmitLogin(ann.Email, password); res.Status == http.StatusSeeOther {
			t.Error("sign-in after deletion: got 303, want refused")
		}

		t.Run("the notice", func(t *testing.T) {
			m, ok := e.Email.Last(ann.Email)
			if !ok || m.Subject != "Your account was deleted" {
				t.Fatalf("last email to %s: got %q, want the deletion notice", ann.Email, m.Subject)
			}
			if strings.Contains(m.Text, "by an administrator") {
				t.Errorf("notice: got %q, want no administrator", m.Text)
			}
			want := contracts.AccountDeleted{UserID: ann.ID, Email: ann.Email, EmailConfirmed: true, ActorID: ann.ID}
			if !hasEvent(e, want) {
				t.Errorf("event: got %v, want %+v", e.Events.All(), want)
			}
		})

		t.Run("no row keeps the user", func(t *testing.T) {
			e.Email.Messages() // delivered: the notice's row is final
			for _, c := range schemaColumns(t, e) {
				where := ""
				if c.table == "outbox" {
					// The notice itself, kept as the delivery record.
					where = ` AND subject <> 'Your account was deleted'`
				}
				values := identifiers
				if c.table == "rate_events" {
					// The hourly caps per number and per network are about
					// the number, not the account, and expire within the hour.
					values = identifiers[:3]
				}
				if n := rowsHolding(t, e, c, where, values...); n != 0 {
					t.Errorf("%s.%s: %d row(s) still hold the user's id, email or number", c.table, c.name, n)
				}
			}
			if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE subject = 'Your account was deleted'`); n != 1 {
				t.Errorf("notices in the outbox: got %d, want 1", n)
			}
		})

		t.Run("audit rows pseudonymised", func(t *testing.T) {
			var pseudonym string
			if err := e.App.DB.QueryRow(`SELECT subject_id FROM audit_log WHERE action = 'user.deleted'`).Scan(&pseudonym); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(pseudonym, "deleted:") || len(pseudonym) < len("deleted:")+32 {
				t.Fatalf("pseudonym: got %q, want deleted:<hmac>", pseudonym)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1`, pseudonym); n != annRows+1 {
				t.Errorf("rows about the deleted account: got %d, want %d (all kept, and the deletion)", n, annRows+1)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND actor_id = $2`, bob.ID, pseudonym); n != 1 {
				t.Errorf("bob's row acted on by ann: got %d with the pseudonym as actor, want 1", n)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1`, bob.ID); n != bobRows {
				t.Errorf("bob's rows: got %d, want %d", n, bobRows)
			}
			if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND detail <> '' AND action LIKE 'phone.%'`, pseudonym); n != 0 {
				t.Errorf("phone rows with a detail left: got %d, want 0", n)
			}
		})
	})
}

func TestDeleteAccountNoticeOnlyToConfirmedEmail(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		c := e.NewClient()
		c.Register("una@example.com", password)
		id := userID(t, e, "una@example.com")
		before := e.Email.Count()
		if res := c.Post("/account/manage/delete-account", apptest.Form("password", password)); res.Status != http.StatusSeeOther {
			t.Fatalf("delete: got %d, want 303", res.Status)
		}
		if n := e.Email.Count(); n != before {
			t.Errorf("emails after deleting an unconfirmed account: got %d new, want 0", n-before)
		}
		if !hasEvent(e, contracts.AccountDeleted{UserID: id, Email: "una@example.com", EmailConfirmed: false, ActorID: id}) {
			t.Error("AccountDeleted was not published")
		}
		if n := e.Count(`SELECT COUNT(*) FROM users WHERE id = $1`, id); n != 0 {
			t.Errorf("users: got %d, want 0", n)
		}
	})
}

func TestDeleteByAdmin(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ctx := context.Background()
		admin := e.App.Users.Admin()
		root, err := e.App.Users.CreateUser(ctx, "root@example.com", password, true)
		if err != nil {
			t.Fatal(err)
		}
		bob, err := e.App.Users.CreateUser(ctx, "bob@example.com", password, false)
		if err != nil {
			t.Fatal(err)
		}
		rootClient := e.NewClient()
		rootClient.Login(root.Email, password)

		tests := []struct {
			name          string
			actor, target string
			want          error
		}{
			{name: "oneself", actor: root.ID, target: root.ID, want: contracts.ErrSelf},
			{name: "the last administrator", actor: bob.ID, target: root.ID, want: contracts.ErrLastAdmin},
			{name: "nobody", actor: root.ID, target: "no-such-id", want: contracts.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := admin.Delete(ctx, tt.actor, tt.target, "192.0.2.1"); !errors.Is(err, tt.want) {
					t.Errorf("Delete: got %v, want %v", err, tt.want)
				}
			})
		}
		if n := e.Count(`SELECT COUNT(*) FROM users`); n != 2 {
			t.Fatalf("users after refusals: got %d, want 2", n)
		}
		// The last administrator cannot delete their own account either.
		res := rootClient.Post("/account/manage/delete-account", apptest.Form("password", password))
		if res.Status != http.StatusUnprocessableEntity {
			t.Errorf("last administrator deleting themselves: got %d, want 422", res.Status)
		}
		if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, "only administrator") {
			t.Errorf("form error: got %q, want the only administrator", msg)
		}

		t.Run("another administrator", func(t *testing.T) {
			cleo, err := e.App.Users.CreateUser(ctx, "cleo@example.com", password, true)
			if err != nil {
				t.Fatal(err)
			}
			cleoClient := e.NewClient()
			cleoClient.Login(cleo.Email, password)
			if err := admin.Delete(ctx, root.ID, cleo.ID, "192.0.2.1"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			apptest.WantSignedIn(t, cleoClient, false)
			if _, err := admin.Get(ctx, cleo.ID); !errors.Is(err, contracts.ErrNotFound) {
				t.Errorf("Get after delete: got %v, want ErrNotFound", err)
			}
			m, ok := e.Email.Last(cleo.Email)
			if !ok || m.Subject != "Your account was deleted" || !strings.Contains(m.Text, "by an administrator") {
				t.Errorf("notice: got %q %q, want the deletion by an administrator", m.Subject, m.Text)
			}
			var actor string
			if err := e.App.DB.QueryRow(`SELECT actor_id FROM audit_log WHERE action = 'user.deleted'`).Scan(&actor); err != nil || actor != root.ID {
				t.Errorf("deletion audit actor: got %q (%v), want the administrator %s", actor, err, root.ID)
			}
			if err := admin.Delete(ctx, root.ID, bob.ID, "192.0.2.1"); err != nil {
				t.Errorf("Delete a user: %v", err)
			}
		})
	})
}

// Two administrators deleting each other at the same moment: the count of
// administrators is taken under a lock inside each transaction, so exactly
// one deletion goes through and the other finds the last administrator.
// Several rounds, each with the survivor and a new administrator, give the
// two transactions many chances to overlap.
func TestDeleteByAdminConcurrentKeepsAnAdministrator(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		ctx := context.Background()
		admin := e.App.Users.Admin()
		survivor, err := e.App.Users.CreateUser(ctx, "admin0@example.com", password, true)
		if err != nil {
			t.Fatal(err)
		}
		for round := 1; round <= 10; round++ {
			fresh, err := e.App.Users.CreateUser(ctx, fmt.Sprintf("admin%d@example.com", round), password, true)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 2)
			start := make(chan struct{})
			for _, pair := range [][2]string{{survivor.ID, fresh.ID}, {fresh.ID, survivor.ID}} {
				go func() {
					<-start
					errs <- admin.Delete(ctx, pair[0], pair[1], "192.0.2.1")
				}()
			}
			close(start)
			var ok, refused int
			for range 2 {
				switch err := <-errs; {
				case err == nil:
					ok++
				case errors.Is(err, contracts.ErrLastAdmin), errors.Is(err, contracts.ErrNotFound):
					refused++
				default:
					t.Errorf("round %d: Delete: unexpected error %v", round, err)
				}
			}
			if ok != 1 || refused != 1 {
				t.Fatalf("round %d: got %d deletions through and %d refused, want 1 and 1", round, ok, refused)
			}
			if n := e.Count(`SELECT COUNT(*) FROM user_roles WHERE role = 'Admin'`); n != 1 {
				t.Fatalf("round %d: administrators left: got %d, want 1", round, n)
			}
			if _, err := admin.Get(ctx, survivor.ID); err != nil {
				survivor = fresh
			}
		}
	})
}

// A number can pass from one person to another: the messages texted to it
// for the account that holds it now are that account's. Another user who
// types the same number sees only their own codes in the download, and
// deleting their account leaves the holder's messages alone.
func TestPersonalDataLeavesAnotherHoldersMessages(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e := apptest.Start(t, db, nil)
		bob := e.NewClient()
		bob.Register("bob@example.com", password)
		phoneVerify(t, e, bob, pdNumber)
		bobID := userID(t, e, "bob@example.com")

		ann := e.NewClient()
		ann.Register("ann@example.com", password)
		if res := phoneSend(ann, pdNumber); res.Status != http.StatusSeeOther {
			t.Fatalf("ann sends a code to bob's number: got %d; %s", res.Status, apptest.Excerpt(res.Body))
		}
		bobSMS := e.Count(`SELECT COUNT(*) FROM outbox WHERE ref = $1`, "phone:"+bobID)
		if bobSMS == 0 {
			t.Fatal("no SMS kept for bob, so the test proves nothing")
		}

		_, doc := download(t, ann)
		var sms int
		for _, m := range doc["messages"].([]any) {
			if m.(map[string]any)["channel"] == "sms" {
				sms++
			}
		}
		if sms != 1 {
			t.Errorf("SMS in ann's download: got %d, want 1 (her own code, not bob's)", sms)
		}

		if res := ann.Post("/account/manage/delete-account", apptest.Form("password", password)); res.Status != http.StatusSeeOther {
			t.Fatalf("delete ann: got %d", res.Status)
		}
		if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE ref = $1`, "phone:"+bobID); n != bobSMS {
			t.Errorf("bob's SMS after ann's deletion: got %d, want %d", n, bobSMS)
		}
		if n := e.Count(`SELECT COUNT(*) FROM outbox WHERE recipient = $1`, pdNumber); n != bobSMS {
			t.Errorf("SMS to the number after ann's deletion: got %d, want bob's %d (ann's code gone)", n, bobSMS)
		}
	})
}
