package web

import (
	"errors"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxFormBytes is the most a form body may hold; the Users handlers use the
// same limit.
const MaxFormBytes = 64 << 10

// InputGate refuses a request whose path, query or form holds a NUL byte or
// invalid UTF-8, before anything reads the database: PostgreSQL rejects
// such text (SQLSTATE 22021, an error and a 500), SQLite stores it, and no
// person types it. A bad path or query answers 400, a bad form field 422,
// both with the styled error page; the refusal is logged as a warning that
// names the field but never the value. Cookies are left alone: the session
// token is hashed before any query.
//
// For URL-encoded and multipart POST, PUT and PATCH bodies the gate reads
// the form once (MaxFormBytes at most) and leaves r.Form and r.PostForm
// filled, so handlers read the same values without reading the body again.
func (k *Kit) InputGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanText(r.URL.Path) {
			logRefused(k, r, "path", "")
			k.Error(w, r, http.StatusBadRequest, "")
			return
		}
		if name, ok := cleanValues(r.URL.Query()); !ok {
			logRefused(k, r, "query", name)
			k.Error(w, r, http.StatusBadRequest, "")
			return
		}
		if ct := formType(r); ct != "" {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
			var err error
			if ct == "multipart/form-data" {
				err = r.ParseMultipartForm(MaxFormBytes)
				if r.MultipartForm != nil {
					// The server removes temporary files only for the request it
					// made, not for this copy of it.
					defer r.MultipartForm.RemoveAll()
				}
			} else {
				err = r.ParseForm()
			}
			if err != nil {
				if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
					k.Error(w, r, http.StatusRequestEntityTooLarge, "The form was too large to read.")
					return
				}
				k.Error(w, r, http.StatusBadRequest, "The form could not be read. Please go back and try again.")
				return
			}
			if name, ok := cleanValues(r.PostForm); !ok {
				logRefused(k, r, "form", name)
				k.Error(w, r, http.StatusUnprocessableEntity, "")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// formType returns the media type of the form body r carries that
// ParseForm or ParseMultipartForm would read, or "" when it carries none.
func formType(r *http.Request) string {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return ""
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
		return ct
	}
	return ""
}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// cleanValues checks every name and value; on failure it returns the name
// to log (empty when the name itself is bad).
func cleanValues(vals map[string][]string) (string, bool) {
	for name, vs := range vals {
		if !cleanText(name) {
			return "", false
		}
		for _, v := range vs {
			if !cleanText(v) {
				return name, false
			}
		}
	}
	return "", true
}

// logRefused records a refused request: where the bad input was and the
// field's name, never the value (it may be a password).
func logRefused(k *Kit, r *http.Request, where, field string) {
	k.Log.WarnContext(r.Context(), "input refused: NUL or invalid UTF-8", "method", r.Method, "path", pathForLog(r.URL.Path),
		"where", where, "field", field, "request_id", RequestID(r.Context()))
}

// pathForLog keeps log lines valid text when the path itself is what was refused.
func pathForLog(p string) string {
	if cleanText(p) {
		return p
	}
	return strings.ToValidUTF8(strings.ReplaceAll(p, "\x00", "\uFFFD"), "\uFFFD")
}
