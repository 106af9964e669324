package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/simplemodule-go/simplemodule/internal/platform/web"
)

// routeOther labels requests no route pattern matched (404s, 405s), so a
// scanner trying random paths cannot grow the label set.
const routeOther = "other"

// exchangeKey is the context key under which Middleware leaves its
// *exchange for Route to fill in.
type exchangeKey struct{}

// exchange is one request as Middleware sees it: it captures the status and
// receives the matched pattern from Route. Both live in one allocation.
type exchange struct {
	web.StatusWriter
	pattern string
}

// Middleware records every request's latency in
// simplemodule_http_request_duration_seconds, labelled with the route
// pattern that matched and the status code. Put it outermost, outside the
// panic recovery (web.Logging), so the time spent in the other middleware
// and the 500s of recovered panics count too, and wrap the ServeMux itself
// with Route: a middleware in between that calls r.WithContext hands the mux
// a copy of the request, so the pattern the mux sets would not reach here.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		e := &exchange{StatusWriter: web.StatusWriter{ResponseWriter: w}}
		r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, e))
		next.ServeHTTP(e, r)
		route := e.pattern
		if route == "" {
			route = r.Pattern // next was the mux itself
		}
		if route == "" {
			route = routeOther
		}
		status := e.Status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		m.requestDuration.WithLabelValues(route, statusLabel(status)).Observe(time.Since(start).Seconds())
	})
}

// Route wraps a ServeMux so that Middleware, further out, learns the pattern
// the mux matched (http.Request.Pattern, set by the mux on the request it is
// given). Without Middleware around it, Route only calls mux.
func Route(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, _ := r.Context().Value(exchangeKey{}).(*exchange)
		if e == nil {
			mux.ServeHTTP(w, r)
			return
		}
		// Deferred so that a handler's panic, recovered further out as a
		// 500, is still labelled with its route.
		defer func() { e.pattern = r.Pattern }()
		mux.ServeHTTP(w, r)
	})
}

// statusLabel spells a status code without allocating for the common ones.
func statusLabel(code int) string {
	switch code {
	case http.StatusOK:
		return "200"
	case http.StatusCreated:
		return "201"
	case http.StatusNoContent:
		return "204"
	case http.StatusMovedPermanently:
		return "301"
	case http.StatusFound:
		return "302"
	case http.StatusSeeOther:
		return "303"
	case http.StatusNotModified:
		return "304"
	case http.StatusBadRequest:
		return "400"
	case http.StatusForbidden:
		return "403"
	case http.StatusNotFound:
		return "404"
	case http.StatusMethodNotAllowed:
		return "405"
	case http.StatusUnprocessableEntity:
		return "422"
	case http.StatusTooManyRequests:
		return "429"
	case http.StatusInternalServerError:
		return "500"
	case http.StatusServiceUnavailable:
		return "503"
	}
	return strconv.Itoa(code)
}
