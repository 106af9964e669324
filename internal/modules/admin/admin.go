// Package admin is the Admin module: administrators list users, see whether
// their email and phone number are verified, force re-verification, lock and
// unlock accounts, read each account's audit trail, invite new users, see
// and end their sessions, grant and revoke the Admin role and delete
// accounts. It knows the Users
// module only through users/contracts (architecture_test.go enforces it).
package admin

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/simplemodule-go/simplemodule/internal/modules/users/contracts"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

//go:embed templates
var templateFiles embed.FS

// Page names, as the page registry knows them.
const (
	pageUsers     = "admin/users/index"
	pageEdit      = "admin/users/edit"
	pageNew       = "admin/users/new"
	pageForbidden = "admin/forbidden"
	pageNotFound  = "admin/not-found"
)

// Deps is what the module needs from the composition root.
type Deps struct {
	Kit   *web.Kit
	Users contracts.Admin
	Log   *slog.Logger // nil means Kit.Log
	// RequireTwoFactor sends administrators without two-factor sign-in to
	// set it up before any admin page (SIMPLEMODULE_REQUIRE_TWO_FACTOR_FOR_ADMINS).
	RequireTwoFactor bool
}

// Module is the Admin module.
type Module struct {
	h *handler
}

// New builds the module.
func New(d Deps) *Module {
	if d.Log == nil {
		d.Log = d.Kit.Log
	}
	return &Module{h: &handler{kit: d.Kit, users: d.Users, log: d.Log, requireTwoFactor: d.RequireTwoFactor}}
}

// Registry lists the module's pages and routes. Every route is
// for administrators only: requireAdmin wraps each one here, in one place,
// so a new route cannot forget it.
func (m *Module) Registry() web.Registry {
	h := m.h
	tfs, _ := fs.Sub(templateFiles, "templates")
	routes := []web.Route{
		{Pattern: "GET /admin/users", Pages: []string{pageUsers}, Handler: http.HandlerFunc(h.usersIndex)},
		{Pattern: "GET /admin/users/{id}/edit", Pages: []string{pageEdit, pageNotFound}, Handler: http.HandlerFunc(h.userEdit)},
		{Pattern: "GET /admin/users/new", Pages: []string{pageNew}, Handler: http.HandlerFunc(h.newUserPage)},
		{Pattern: "POST /admin/users/new", Pages: []string{pageNew}, Handler: http.HandlerFunc(h.newUser)},
	}
	routes = append(routes, h.userActionRoutes()...)
	for i := range routes {
		routes[i].Pages = append(routes[i].Pages, pageForbidden)
		routes[i].Handler = h.requireAdmin(routes[i].Handler)
	}
	return web.Registry{
		Module: "admin",
		FS:     tfs,
		Pages: []web.Page{
			{Name: pageUsers, Template: "pages/admin/users/index.html"},
			{Name: pageEdit, Template: "pages/admin/users/edit.html"},
			{Name: pageNew, Template: "pages/admin/users/new.html"},
			{Name: pageForbidden, Template: "pages/admin/forbidden.html"},
			{Name: pageNotFound, Template: "pages/admin/not-found.html"},
		},
		Routes: routes,
	}
}
