// Package dev holds development-only pages. It is mounted only when
// SIMPLEMODULE_ENV is not production.
package dev

import (
	"embed"
	"io/fs"
	"net/http"
	"net/netip"

	"github.com/simplemodule-go/simplemodule/internal/messaging/outbox"
	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

//go:embed templates
var templateFiles embed.FS

// Module serves the development pages.
type Module struct {
	Kit    *web.Kit
	Outbox *outbox.Outbox
}

const pageOutbox = "dev/outbox"

// Registry lists the module's pages and routes.
func (m *Module) Registry() web.Registry {
	tfs, _ := fs.Sub(templateFiles, "templates")
	return web.Registry{
		Module: "dev",
		FS:     tfs,
		Pages:  []web.Page{{Name: pageOutbox, Template: "pages/dev/outbox.html"}},
		Routes: []web.Route{{Pattern: "GET /dev/outbox", Pages: []string{pageOutbox}, Handler: http.HandlerFunc(m.outbox)}},
	}
}

// outbox lists, to loopback clients only, the latest messages with their bodies (decrypted while they
// are still stored), so a developer can click through every flow without
// reading logs.
func (m *Module) outbox(w http.ResponseWriter, r *http.Request) {
	// Even in development the page holds live codes and links: only the
	// developer's own machine may read it.
	if ip, err := netip.ParseAddr(m.Kit.ClientIP(r)); err != nil || !ip.IsLoopback() {
		http.NotFound(w, r)
		return
	}
	list, err := m.Outbox.Recent(r.Context(), 50)
	if err != nil {
		m.Kit.ServerError(w, r, err)
		return
	}
	m.Kit.Render(w, r, http.StatusOK, pageOutbox, web.View{Title: "Outbox", Data: list})
}
