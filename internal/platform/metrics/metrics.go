// Package metrics exports the server's Prometheus metrics: request latency
// by route and status, the outbox's backlog and deliveries, and the account
// events the Users module reports (sign-ins, phone codes). Everything lives
// in a registry of its own, served by Handler on a listener of its own
// (SIMPLEMODULE_METRICS_ADDR), never on the public one.
package metrics

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric of ours.
const namespace = "simplemodule"

// latencyBuckets bound the latency histograms, in seconds.
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// counterVec builds one of our counters, split by labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

// histogramVec builds one of our histograms, split by labels.
func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
}

// Metrics holds the registry and every metric the application updates.
// Its methods are safe for concurrent use. Build one with New.
type Metrics struct {
	registry *prometheus.Registry
	log      *slog.Logger

	requestDuration  *prometheus.HistogramVec
	deliveries       *prometheus.CounterVec
	deliveryDuration *prometheus.HistogramVec
	signIns          *prometheus.CounterVec
	phoneCodesSent   *prometheus.CounterVec
	phoneConfirms    *prometheus.CounterVec
}

// New builds the metrics in a fresh registry, with the Go runtime and
// process collectors. log receives scrape errors (e.g. the database not
// answering the backlog query).
func New(log *slog.Logger) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		log:      log,
		requestDuration: histogramVec("http_request_duration_seconds",
			"Time to answer an HTTP request, by route pattern (\"other\" when none matched) and status code.",
			latencyBuckets, "route", "code"),
		deliveries: counterVec("outbox_deliveries_total",
			"Delivery attempts by channel (sms, email) and outcome (sent, retry, failed).",
			"channel", "outcome"),
		deliveryDuration: histogramVec("outbox_delivery_duration_seconds",
			"Time from a message's request (queued) to the provider accepting it, by channel; retries included.",
			slices.Concat(latencyBuckets, []float64{30, 60}), "channel"),
		signIns: counterVec("signins_total",
			"Sign-in attempts by outcome.",
			"outcome"),
		phoneCodesSent: counterVec("phone_codes_sent_total",
			"Phone verification codes queued for sending, by the number's country (ISO 3166 region code).",
			"country"),
		phoneConfirms: counterVec("phone_confirmations_total",
			"Phone code confirmation attempts by outcome (confirmed, failed).",
			"outcome"),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requestDuration, m.deliveries, m.deliveryDuration,
		m.signIns, m.phoneCodesSent, m.phoneConfirms,
	)
	return m
}

// Registry returns the registry holding every metric, for tests and for
// registering further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus text format. A collector that
// fails (the backlog query) is logged and left out; the rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
		// Counts scrape errors as promhttp_metric_handler_errors_total.
		Registry: m.registry,
	})
}
