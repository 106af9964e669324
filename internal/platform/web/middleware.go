package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

type requestIDKey struct{}

// RequestID returns the id given to the current request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// StatusWriter remembers the status code of the answer written through it
// (0 until one is written), for logs and metrics.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records the first final status (1xx are informational; the
// real answer follows).
func (s *StatusWriter) WriteHeader(code int) {
	if s.Status == 0 && code >= 200 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records 200 when no status was written first.
func (s *StatusWriter) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *StatusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Logging gives each request an id, recovers panics as 500s (answered by
// failed, the styled error page; plain text when nil) and writes one log
// record per request (method, path, status, duration — never bodies,
// cookies or query strings, which can hold tokens).
func Logging(log *slog.Logger, next http.Handler, failed http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		sw := &StatusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", p)
				if sw.Status == 0 {
					if failed != nil {
						failed(sw, r.WithContext(ctx))
					} else {
						http.Error(sw, "Something went wrong on our side.", http.StatusInternalServerError)
					}
				}
			}
			log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path, "status", sw.Status,
				"duration_ms", time.Since(start).Milliseconds(), "request_id", id)
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// HSTS is the Strict-Transport-Security policy: how long browsers must use
// https only for this site after a visit. The zero value sends no header —
// what development wants, since a pin on localhost would break every other
// local http server.
type HSTS struct {
	MaxAge time.Duration
	// Preload adds includeSubDomains and preload, which the browsers'
	// preload lists require; the caller checks MaxAge is long enough.
	Preload bool
}

// header is the Strict-Transport-Security value, "" for none.
func (p HSTS) header() string {
	secs := int64(p.MaxAge / time.Second)
	if secs <= 0 {
		return ""
	}
	v := "max-age=" + strconv.FormatInt(secs, 10)
	if p.Preload {
		v += "; includeSubDomains; preload"
	}
	return v
}

// SecurityHeaders sets a strict CSP (no inline script), framing and sniffing
// protection and a referrer policy on every response, and hsts's
// Strict-Transport-Security (pass the zero HSTS outside production). The
// header goes out on plain-http requests too: behind a TLS-terminating proxy
// the app never sees https, and browsers ignore the header over http.
func SecurityHeaders(hsts HSTS, next http.Handler) http.Handler {
	sts := hsts.header()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if sts != "" {
			h.Set("Strict-Transport-Security", sts)
		}
		next.ServeHTTP(w, r)
	})
}

// CrossOrigin refuses non-safe cross-origin browser requests with 403.
func CrossOrigin(next http.Handler, refuse http.HandlerFunc) http.Handler {
	cop := http.NewCrossOriginProtection()
	if refuse == nil {
		refuse = func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Cross-origin request refused.", http.StatusForbidden)
		}
	}
	cop.SetDenyHandler(refuse)
	return cop.Handler(next)
}
