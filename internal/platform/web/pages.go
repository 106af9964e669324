package web

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
)

// Page is one named view a module can render, e.g. "users/account/manage/phone",
// backed by a template file in the module's FS.
type Page struct {
	Name     string
	Template string // path inside the module's template FS, e.g. "pages/account/login.html"
	// AnyRoute marks a page the platform may render for any request (the
	// error page), so no single route names it.
	AnyRoute bool
}

// Route is one endpoint of a module and the pages it may render.
type Route struct {
	Pattern string // ServeMux pattern, e.g. "GET /account/login"
	Pages   []string
	Handler http.Handler
	// Back is where a GET of this POST-only route goes (303), e.g. after a
	// 422 left the POST's address in the address bar. Wildcards such as
	// {id} are filled from the request's path. Empty means the GET route
	// that renders this route's first page (see Kit.Unmatched).
	Back string
}

// Registry is one module's list of pages and routes. Every template under
// pages/ in FS must belong to a registered page, and every page a route
// names must be registered.
type Registry struct {
	Module string
	FS     fs.FS
	Pages  []Page
	Routes []Route
}

// Validate checks registries both ways and returns one line per problem.
func Validate(regs ...Registry) []string {
	var problems []string
	for _, reg := range regs {
		registered := map[string]Page{}
		used := map[string]bool{}
		for _, p := range reg.Pages {
			if _, dup := registered[p.Name]; dup {
				problems = append(problems, fmt.Sprintf("%s: page %q registered twice", reg.Module, p.Name))
			}
			registered[p.Name] = p
			used[p.Template] = true
			if _, err := fs.Stat(reg.FS, p.Template); err != nil {
				problems = append(problems, fmt.Sprintf("%s: page %q has no template %s", reg.Module, p.Name, p.Template))
			}
		}
		for _, rt := range reg.Routes {
			for _, name := range rt.Pages {
				if _, ok := registered[name]; !ok {
					problems = append(problems, fmt.Sprintf("%s: route %q renders unregistered page %q", reg.Module, rt.Pattern, name))
				}
			}
		}
		rendered := map[string]bool{}
		for _, rt := range reg.Routes {
			for _, name := range rt.Pages {
				rendered[name] = true
			}
		}
		for _, p := range reg.Pages {
			if !rendered[p.Name] && !p.AnyRoute {
				problems = append(problems, fmt.Sprintf("%s: page %q is registered but no route renders it", reg.Module, p.Name))
			}
		}
		_ = fs.WalkDir(reg.FS, "pages", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || path.Ext(p) != ".html" {
				return nil
			}
			if !used[p] {
				problems = append(problems, fmt.Sprintf("%s: template %s is not used by any registered page", reg.Module, p))
			}
			return nil
		})
	}
	sort.Strings(problems)
	return slices.Compact(problems)
}

// Mount registers every route of regs on mux, wrapped by wrap.
func Mount(mux *http.ServeMux, wrap func(http.Handler) http.Handler, regs ...Registry) {
	for _, reg := range regs {
		for _, rt := range reg.Routes {
			mux.Handle(rt.Pattern, wrap(rt.Handler))
		}
	}
}

// Patterns lists every route pattern of regs that starts with prefix.
func Patterns(prefix string, regs ...Registry) []string {
	var out []string
	for _, reg := range regs {
		for _, rt := range reg.Routes {
			_, p, _ := strings.Cut(rt.Pattern, " ")
			if strings.HasPrefix(p, prefix) {
				out = append(out, rt.Pattern)
			}
		}
	}
	return out
}
