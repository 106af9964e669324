package web

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// pageError is the platform's error page: a heading, a sentence, and a
// way back (home, and the account page for a signed-in user).
const pageError = "platform/error"

// Platform is the registry of the platform's own pages. Its error page
// belongs to no route: any request may end on it.
func Platform() Registry {
	sub, _ := fs.Sub(assets, "templates")
	return Registry{
		Module: "platform",
		FS:     sub,
		Pages:  []Page{{Name: pageError, Template: "pages/error.html", AnyRoute: true}},
	}
}

// errorPage is what the error page template reads from View.Data.
type errorPage struct {
	Status    int
	Heading   string
	Message   string
	RequestID string // shown on 500s so a user can quote it
}

// errorHeadings are the error page's headings; the message says more.
var errorHeadings = map[int]string{
	http.StatusBadRequest:          "This address cannot be read",
	http.StatusForbidden:           "You cannot open this page",
	http.StatusNotFound:            "Page not found",
	http.StatusMethodNotAllowed:    "This page cannot be opened this way",
	http.StatusUnprocessableEntity: "The form could not be accepted",
	http.StatusInternalServerError: "Something went wrong",
}

// errorMessages are the default sentences under each heading.
var errorMessages = map[int]string{
	http.StatusBadRequest:          "The link contains characters we cannot read. Check that it was copied completely and try again.",
	http.StatusForbidden:           "Your account does not have access to this page.",
	http.StatusNotFound:            "There is no page at this address. The link may be old or mistyped.",
	http.StatusMethodNotAllowed:    "This address only accepts a form sent from its page. Go back to the page and send the form again.",
	http.StatusUnprocessableEntity: "The form contained characters we cannot accept, such as invisible control characters. Please retype what you entered and try again.",
	http.StatusInternalServerError: "Something went wrong on our side. Please try again in a moment.",
}

// Error answers status with the styled error page. An empty message uses
// the status's default sentence. The flash cookie is left for the next
// real page: a browser's background request (a favicon, say) must not
// swallow it.
func (k *Kit) Error(w http.ResponseWriter, r *http.Request, status int, message string) {
	e := errorPage{Status: status, Message: message}
	if status >= http.StatusInternalServerError {
		e.RequestID = RequestID(r.Context()) // so a user can quote it
	}
	k.errorPage(w, r, e)
}

func (k *Kit) errorPage(w http.ResponseWriter, r *http.Request, e errorPage) {
	if e.Heading == "" {
		e.Heading = errorHeadings[e.Status]
		if e.Heading == "" {
			e.Heading = http.StatusText(e.Status)
		}
	}
	if e.Message == "" {
		e.Message = errorMessages[e.Status]
	}
	v := View{Title: e.Heading, Data: e, Viewer: ViewerFrom(r.Context()), Path: r.URL.Path}
	if k.Clock != nil {
		v.Now = k.Clock.Now()
	}
	var body *bytes.Buffer
	var err error
	if k.Renderer != nil {
		body, err = k.Renderer.render(pageError, v)
		defer release(body)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if k.Renderer == nil || err != nil {
		// The error page itself failed: answer in plain text rather than
		// recurse through ServerError.
		if err != nil {
			k.Log.ErrorContext(r.Context(), "render error page", "request_id", RequestID(r.Context()), "err", err)
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.Status)
		w.Write([]byte(e.Heading + ". " + e.Message + "\n"))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(body.Bytes())
	}
}

// probeMethods are the methods Unmatched asks the mux about to build Allow.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Unmatched wraps mux so a request it has no route for gets the styled
// 404 page, or the styled 405 page with Allow. A GET of a POST-only route
// (the address bar keeps a POST's URL after a 422, and a reload sends a
// GET) redirects with 303 to the route's Back, or else to the GET route
// that renders the POST's first page, instead of answering 405.
func (k *Kit) Unmatched(mux *http.ServeMux, regs ...Registry) http.Handler {
	back := backTargets(regs)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for _, m := range probeMethods {
			probe := &http.Request{Method: m, Host: r.Host, URL: r.URL}
			if _, pattern := mux.Handler(probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			k.Error(w, r, http.StatusNotFound, "")
			return
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			_, post := mux.Handler(&http.Request{Method: http.MethodPost, Host: r.Host, URL: r.URL})
			if target, ok := back[post]; ok {
				http.Redirect(w, r, fillWildcards(target, post, r.URL.Path), http.StatusSeeOther)
				return
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		k.Error(w, r, http.StatusMethodNotAllowed, "")
	})
}

// backTargets maps each POST route's pattern to where a GET of it should
// go: its Back, or the GET route of the same registry that renders the
// POST's first page and needs no wildcard the POST route lacks.
func backTargets(regs []Registry) map[string]string {
	out := map[string]string{}
	for _, reg := range regs {
		for _, rt := range reg.Routes {
			method, path, _ := strings.Cut(rt.Pattern, " ")
			if method != http.MethodPost {
				continue
			}
			if rt.Back != "" {
				out[rt.Pattern] = rt.Back
				continue
			}
			if len(rt.Pages) == 0 {
				continue
			}
			have := wildcards(path)
			for _, get := range reg.Routes {
				gm, gp, _ := strings.Cut(get.Pattern, " ")
				if gm != http.MethodGet || !slices.Contains(get.Pages, rt.Pages[0]) {
					continue
				}
				if !subset(wildcards(gp), have) {
					continue
				}
				out[rt.Pattern] = gp
				break
			}
		}
	}
	return out
}

// wildcards lists the names of a pattern path's {wildcards}.
func wildcards(path string) []string {
	var names []string
	for seg := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.TrimSuffix(seg[1:len(seg)-1], "..."), "$")
			if name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

func subset(names, of []string) bool {
	for _, n := range names {
		if !slices.Contains(of, n) {
			return false
		}
	}
	return true
}

// fillWildcards replaces each {name} in target by the segment of path at
// the position of {name} in pattern (the POST route that matched path),
// escaped, since the value came from the request.
func fillWildcards(target, pattern, path string) string {
	_, patPath, _ := strings.Cut(pattern, " ")
	if !strings.Contains(target, "{") {
		return target
	}
	pat := strings.Split(patPath, "/")
	segs := strings.Split(path, "/")
	for i, seg := range pat {
		if i >= len(segs) || !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") {
			continue
		}
		name := strings.TrimSuffix(seg[1:len(seg)-1], "...")
		target = strings.ReplaceAll(target, "{"+name+"}", url.PathEscape(segs[i]))
	}
	return target
}
