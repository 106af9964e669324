package admin_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
)

const (
	danaEmail = "dana@example.com"
	danaPW    = "quiet orchard lantern"
)

// invite submits the new-user form and returns the invited user's id,
// failing unless it answers 303 to the new user's Details tab with a flash.
func invite(t *testing.T, e *apptest.Env, ac *apptest.Client, addr, name string, admin bool) string {
	t.Helper()
	yes := "no"
	if admin {
		yes = "yes"
	}
	res := ac.Post("/admin/users/new", url.Values{"email": {addr}, "display_name": {name}, "admin": {yes}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("POST /admin/users/new: got %d, want 303: %s", res.Status, apptest.Excerpt(res.Body))
	}
	loc := res.Header.Get("Location")
	id, ok := strings.CutPrefix(loc, "/admin/users/")
	if !ok || !strings.HasSuffix(id, "/edit?tab=details") {
		t.Fatalf("POST /admin/users/new: got Location %q, want the new user's Details tab", loc)
	}
	page := ac.Get(loc)
	if flash, _ := apptest.TestID(page.Body, "flash"); !strings.Contains(flash, addr) {
		t.Errorf("flash after invite: got %q, want it to name %s", flash, addr)
	}
	return strings.TrimSuffix(id, "/edit?tab=details")
}

// acceptInvitation posts the invitation form from link with pw.
func acceptInvitation(c *apptest.Client, link, pw string) *apptest.Response {
	u, _ := url.Parse(link)
	q := u.Query()
	return c.Post("/account/invitation", url.Values{"userId": {q.Get("userId")}, "code": {q.Get("code")}, "password": {pw}, "confirm_password": {pw}})
}

func TestAdminInvitesUser(t *testing.T) {
	tests := []struct {
		name  string
		admin bool
	}{
		{name: "administrator", admin: true},
		{name: "regular user", admin: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apptest.ForEachDB(t, func(t *testing.T, db string) {
				e, admin, ac := startWithAdmin(t, db)
				list := ac.Get("/admin/users")
				if href, _ := apptest.TestID(list.Body, "new-user"); href != "New user" || !strings.Contains(list.Body, `href="/admin/users/new"`) {
					t.Errorf("user list: no New user button leading to /admin/users/new")
				}
				if res := ac.Get("/admin/users/new"); res.Status != http.StatusOK {
					t.Fatalf("GET /admin/users/new: got %d, want 200", res.Status)
				}

				id := invite(t, e, ac, danaEmail, "Dana Scully", tt.admin)
				page := ac.Get(editPath(id, "details"))
				wantTestID(t, page.Body, "display-name", "Dana Scully")
				wantTestID(t, page.Body, "email-status", "Unverified")
				wantRoles := "None"
				if tt.admin {
					wantRoles = contracts.RoleAdmin
				}
				wantTestID(t, page.Body, "roles", wantRoles)

				// The account exists but nobody can sign in to it yet.
				if res := e.NewClient().SubmitLogin(danaEmail, danaPW); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("sign-in before the invitation is used: got %d, want 422", res.Status)
				}
				m, ok := e.Email.Last(danaEmail)
				if !ok {
					t.Fatal("no invitation email")
				}
				if m.Subject != "You are invited to SimpleModule" || !strings.Contains(m.Text, "7 days") {
					t.Errorf("invitation email: got subject %q, text %q; want the invitation, valid 7 days", m.Subject, m.Text)
				}
				link := e.LastLink(danaEmail)
				if !strings.HasPrefix(link, "/account/invitation?") || !strings.Contains(m.HTML, "/account/invitation?") {
					t.Fatalf("invitation link: got %q, want /account/invitation?… in text and HTML", link)
				}
				wantEvents := []contracts.UserInvited{{UserID: id, ActorID: admin.ID, Email: danaEmail, Admin: tt.admin}}
				if got := eventsOf[contracts.UserInvited](e); !slices.Equal(got, wantEvents) {
					t.Errorf("UserInvited events: got %+v, want %+v", got, wantEvents)
				}
				if n := e.Count(`SELECT COUNT(*) FROM audit_log WHERE subject_id = $1 AND actor_id = $2 AND action = 'user.invited'`, id, admin.ID); n != 1 {
					t.Errorf("user.invited audit rows by the admin: got %d, want 1", n)
				}
				audit := ac.Get(editPath(id, "security")).Body
				if !slices.Contains(auditRows(audit), [2]string{"user.invited", adminEmail}) || !slices.Contains(auditTexts(audit), "Invited by an administrator") {
					t.Errorf("security tab: no invitation by %s in words; rows %v", adminEmail, auditRows(audit))
				}

				c := e.NewClient()
				res := c.Get(link)
				if res.Status != http.StatusOK || !strings.Contains(res.Body, `action="/account/invitation"`) {
					t.Fatalf("GET invitation link: got %d, want 200 with the form: %s", res.Status, apptest.Excerpt(res.Body))
				}
				// Password rules as at registration; a refusal leaves the link live.
				if res := acceptInvitation(c, link, "password"); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("weak password: got %d, want 422", res.Status)
				} else if _, ok := apptest.TestID(res.Body, "form-error"); !ok {
					t.Error("weak password: no form error")
				}
				res = acceptInvitation(c, link, danaPW)
				if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/account/manage" {
					t.Fatalf("accept invitation: got %d to %q, want 303 to /account/manage: %s", res.Status, res.Header.Get("Location"), apptest.Excerpt(res.Body))
				}
				manage := c.Get("/account/manage")
				if manage.Status != http.StatusOK {
					t.Fatalf("after accepting: got %d, want 200 (signed in)", manage.Status)
				}
				wantTestID(t, manage.Body, "email-status", "Verified")
				wantAdmin := http.StatusForbidden
				if tt.admin {
					wantAdmin = http.StatusOK
				}
				if res := c.Get("/admin/users"); res.Status != wantAdmin {
					t.Errorf("invited user on /admin/users: got %d, want %d", res.Status, wantAdmin)
				}
				e.NewClient().Login(danaEmail, danaPW)

				// Single use: the link is dead once used, on the page and the form.
				res = e.NewClient().Get(link)
				if msg, _ := apptest.TestID(res.Body, "form-error"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, "already been used") {
					t.Errorf("GET used link: got %d %q, want 422 saying it was used", res.Status, msg)
				}
				if res := acceptInvitation(e.NewClient(), link, "another quiet orchard"); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("POST used link: got %d, want 422", res.Status)
				}
				if res := e.NewClient().SubmitLogin(danaEmail, "another quiet orchard"); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("sign-in with the password of a reused link: got %d, want 422", res.Status)
				}
			})
		})
	}
}

func TestAdminInvitationExpires(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, _, ac := startWithAdmin(t, db)
		invite(t, e, ac, danaEmail, "", false)
		link := e.LastLink(danaEmail)

		e.Clock.Advance(7*24*time.Hour - time.Minute)
		if res := e.NewClient().Get(link); res.Status != http.StatusOK {
			t.Fatalf("link a minute before 7 days: got %d, want 200", res.Status)
		}
		e.Clock.Advance(time.Minute)
		res := e.NewClient().Get(link)
		if msg, _ := apptest.TestID(res.Body, "form-error"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, "expired") {
			t.Errorf("GET link after 7 days: got %d %q, want 422 saying it expired", res.Status, msg)
		}
		if !strings.Contains(res.Body, `href="/account/forgot-password"`) || strings.Contains(res.Body, `action="/account/invitation"`) {
			t.Error("expired link page: want a way to a new link and no password form")
		}
		c := e.NewClient()
		res = acceptInvitation(c, link, danaPW)
		if msg, _ := apptest.TestID(res.Body, "form-error"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, "expired") {
			t.Errorf("POST link after 7 days: got %d %q, want 422 saying it expired", res.Status, msg)
		}
		apptest.WantSignedIn(t, c, false)
		if res := e.NewClient().SubmitLogin(danaEmail, danaPW); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("sign-in after an expired link: got %d, want 422", res.Status)
		}
		// A made-up link is no better.
		res = e.NewClient().Get("/account/invitation?userId=nobody&code=nothing")
		if msg, _ := apptest.TestID(res.Body, "form-error"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(msg, "not valid") {
			t.Errorf("GET made-up link: got %d %q, want 422 saying it is not valid", res.Status, msg)
		}
	})
}

func TestAdminInviteRefusals(t *testing.T) {
	apptest.ForEachDB(t, func(t *testing.T, db string) {
		e, _, ac := startWithAdmin(t, db)
		tests := []struct {
			name, email, display string
			wantMsg              string
		}{
			{name: "email taken", email: adminEmail, wantMsg: "already exists"},
			{name: "email taken in capitals", email: "ADMIN@Example.com", wantMsg: "already exists"},
			{name: "invalid email", email: "not-an-address", wantMsg: "valid email"},
			{name: "no email", email: "", wantMsg: "email"},
			{name: "name too long", email: danaEmail, display: strings.Repeat("n", 101), wantMsg: "100 characters"},
		}
		users, emails := e.Count(`SELECT COUNT(*) FROM users`), e.Email.Count()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := ac.Post("/admin/users/new", url.Values{"email": {tt.email}, "display_name": {tt.display}, "admin": {"yes"}})
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("got %d, want 422", res.Status)
				}
				if msg, _ := apptest.TestID(res.Body, "form-error"); !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("form error: got %q, want it to contain %q", msg, tt.wantMsg)
				}
				// The form keeps what was typed.
				if tt.email != "" && !strings.Contains(res.Body, `value="`+tt.email+`"`) {
					t.Errorf("form does not keep the email %q", tt.email)
				}
				if !strings.Contains(res.Body, `value="yes" checked`) {
					t.Error("form does not keep Administrator: yes")
				}
			})
		}
		if got := e.Count(`SELECT COUNT(*) FROM users`); got != users {
			t.Errorf("users after refused invitations: got %d, want %d", got, users)
		}
		if got := e.Email.Count(); got != emails {
			t.Errorf("emails after refused invitations: got %d, want %d", got, emails)
		}
		if got := eventsOf[contracts.UserInvited](e); len(got) != 0 {
			t.Errorf("UserInvited events after refusals: got %+v, want none", got)
		}
	})
}
