package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/simplemodule-go/simplemodule/internal/app/apptest"
)

// TestAdminRolesTabInBrowser grants the Admin role from the Roles tab the
// way an administrator does, and checks the tab at a laptop's and a
// phone's width: nothing wider than the window, one's own tab without the
// buttons.
func TestAdminRolesTabInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	shots := screenshotDir(t)
	ctx := context.Background()
	const adminEmail, userEmail = "admin@example.com", "dana.scully@example.com"
	admin, err := e.App.Users.CreateUser(ctx, adminEmail, layoutPassword, true)
	if err != nil {
		t.Fatal(err)
	}
	user, err := e.App.Users.CreateUser(ctx, userEmail, layoutPassword, false)
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, chrome)
	b.signIn(e, adminEmail, layoutPassword)
	editPath := "/admin/users/" + user.ID + "/edit"
	b.viewport(desktopWidth)
	b.submit("open the roles tab", editPath, chromedp.Navigate(e.URL+editPath+"?tab=roles"))
	b.wantText("admin-role", "No")
	b.submit("make the user an administrator", editPath, chromedp.Click(testID("grant-admin")))
	b.wantText("admin-role", "Yes")
	if !b.present("flash") || !b.present("revoke-admin") {
		t.Errorf("roles tab after the grant: flash %v, Revoke Admin button %v; want both", b.present("flash"), b.present("revoke-admin"))
	}
	b.noPageOverflow("roles tab at 1280 px")
	b.screenshot(filepath.Join(shots, "admin-roles-1280.png"))

	b.viewport(phoneWidth)
	b.noPageOverflow("roles tab at 390 px")
	b.screenshot(filepath.Join(shots, "admin-roles-390.png"))

	// One's own tab says why there is nothing to press.
	b.submit("open one's own roles tab", "/admin/users/"+admin.ID+"/edit", chromedp.Navigate(e.URL+"/admin/users/"+admin.ID+"/edit?tab=roles"))
	if !b.present("self-role-note") || b.present("grant-admin") || b.present("revoke-admin") {
		t.Error("own roles tab: want the note and no grant or revoke button")
	}
}

// TestAdminInvitationInBrowser creates a user from the New user form and
// follows the emailed link in a fresh browser to choose a password, which
// signs the person in with a verified address.
func TestAdminInvitationInBrowser(t *testing.T) {
	chrome := chromePath(t)
	e := apptest.Start(t, "sqlite", nil)
	const adminEmail, userEmail = "admin@example.com", "fox.mulder@example.com"
	if _, err := e.App.Users.CreateUser(context.Background(), adminEmail, layoutPassword, true); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, chrome)
	b.signIn(e, adminEmail, layoutPassword)
	b.submit("open the user list", "/admin/users", chromedp.Navigate(e.URL+"/admin/users"))
	b.submit("press New user", "/admin/users/new", chromedp.Click(testID("new-user")))
	b.do("fill in the form",
		chromedp.SendKeys(testID("new-email"), userEmail),
		chromedp.SendKeys(testID("new-display-name"), "Fox Mulder"),
		chromedp.Click(testID("new-admin-yes")),
	)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	res, err := chromedp.RunResponse(ctx, chromedp.Click(testID("new-user-submit")))
	cancel()
	if err != nil {
		t.Fatalf("create the user: %v", err)
	}
	if loc := b.location(); res.Status != http.StatusOK || !strings.HasSuffix(loc.Path, "/edit") {
		t.Fatalf("create the user: got %d at %s, want 200 on the new user's page; %s", res.Status, loc, b.pageMessages())
	}
	b.wantText("display-name", "Fox Mulder")
	b.wantText("roles", "Admin")

	invitee := newBrowser(t, chrome)
	invitee.submit("open the invitation link", "/account/invitation", chromedp.Navigate(e.URL+e.LastLink(userEmail)))
	invitee.do("choose a password",
		chromedp.SendKeys(chromedp.CSS(`#password`), layoutPassword),
		chromedp.SendKeys(chromedp.CSS(`#confirm_password`), layoutPassword),
	)
	invitee.submit("set the password", "/account/manage", chromedp.Click(testID("accept-invitation")))
	invitee.wantText("email-status", "Verified")
}
