package web

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/phone"
)

//go:embed templates static
var assets embed.FS

// Viewer is who the page is shown to, for the layout's navigation.
type Viewer struct {
	SignedIn bool
	UserID   string
	Email    string
	IsAdmin  bool
}

type viewerKey struct{}

// WithViewer stores v in ctx for the layout.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerFrom returns the viewer stored by WithViewer (zero when anonymous).
func ViewerFrom(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

// View is what a page template receives. Pages read their own fields from Data.
type View struct {
	Title string
	Error string // shown as data-testid="form-error"
	Data  any

	Flash  string
	Viewer Viewer
	Path   string
	Now    time.Time
}

// Renderer holds one parsed template set per registered page.
type Renderer struct {
	pages map[string]*template.Template
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"seconds":   func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) },
		"itoa":      strconv.Itoa,
		"hasPrefix": strings.HasPrefix,
		"duration":  HumanDuration,
		// phone shows an E.164 number in its country's international
		// format ("+1 201-555-0123"); data attributes keep the E.164.
		"phone": phone.FormatInternational,
		// emailBreaks lets a long address wrap where a reader expects it:
		// after each dot and before the @ (CSS breaks elsewhere only when
		// a part alone is still too long).
		"emailBreaks": func(addr string) template.HTML {
			var b strings.Builder
			for i, r := range addr {
				if r == '@' && i > 0 {
					b.WriteString("<wbr>")
				}
				b.WriteString(template.HTMLEscapeString(string(r)))
				if r == '.' {
					b.WriteString("<wbr>")
				}
			}
			return template.HTML(b.String())
		},
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
	}
}

// NewRenderer parses the shared layout with every registered page.
func NewRenderer(regs ...Registry) (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}}
	base, err := template.New("layout").Funcs(funcs()).ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	for _, reg := range regs {
		for _, p := range reg.Pages {
			t, err := base.Clone()
			if err != nil {
				return nil, err
			}
			src, err := fs.ReadFile(reg.FS, p.Template)
			if err != nil {
				return nil, fmt.Errorf("page %s: %w", p.Name, err)
			}
			if _, err := t.New(p.Template).Parse(string(src)); err != nil {
				return nil, fmt.Errorf("page %s: %w", p.Name, err)
			}
			r.pages[p.Name] = t
		}
	}
	return r, nil
}

// buffers hold rendered pages between the template and the response:
// reused, a page costs no buffer growth from zero at every request.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes page into a buffer so a template error never sends half
// a page; the caller writes it, then gives it back with release.
func (r *Renderer) render(page string, v View) (*bytes.Buffer, error) {
	t, ok := r.pages[page]
	if !ok {
		return nil, fmt.Errorf("render: page %q is not registered", page)
	}
	buf := buffers.Get().(*bytes.Buffer)
	buf.Reset()
	if err := t.ExecuteTemplate(buf, "layout.html", v); err != nil {
		release(buf)
		return nil, fmt.Errorf("render %s: %w", page, err)
	}
	return buf, nil
}

// release returns a rendered page's buffer to the pool, unless an unusually
// large page grew it (the pool should not pin its memory).
func release(buf *bytes.Buffer) {
	if buf != nil && buf.Cap() <= 64<<10 {
		buffers.Put(buf)
	}
}

// Static serves the embedded CSS and JavaScript under /static/. Directories
// answer 404: a listing would tell a visitor every asset, including ones no
// page links to yet.
func Static() http.Handler {
	sub, _ := fs.Sub(assets, "static")
	return staticFiles(sub)
}

func staticFiles(fsys fs.FS) http.Handler {
	fsrv := http.StripPrefix("/static/", http.FileServerFS(filesOnly{fsys}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// filesOnly hides directories, so http.FileServerFS finds neither a listing
// nor an index.html to serve for them and answers 404.
type filesOnly struct{ fs.FS }

// Open opens name only when it is a regular file.
func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := file.Stat()
	if err != nil || st.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}
