// Package metrics exposes what the hub, the edge redirector (Metrics) and
// the mirror agent (Agent) do in the Prometheus text format
// (docs/METRICS.md). Each owns its own registry; nothing is registered
// globally. Label values are bounded: mirror
// names come from hub.toml or the signed map, kinds and results from small
// fixed sets; paths are never labels.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pando-mirror/pando/internal/check"
)

// Metrics holds every collector and the registry that serves them.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	redirects *prometheus.CounterVec

	// Counters of the series counted on every request, found once.
	requestCounters, redirectCounters counterCache
	passDuration                      prometheus.Histogram
	passes                            prometheus.Counter
	problems                          *prometheus.GaugeVec
	mirrorOK                          *prometheus.GaugeVec
	mirrorLag                         *prometheus.GaugeVec
	originRecs                        prometheus.Gauge
	originAge                         prometheus.Gauge
	lastPass                          prometheus.Gauge
	checker                           prometheus.Gauge
}

// New returns metrics registered on a fresh registry of their own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pando_http_requests_total",
			Help: "HTTP requests answered, by kind of request and result (status class)."}, []string{"kind", "result"}),
		redirects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pando_redirects_total",
			Help: "Object requests answered by the redirector, by chosen mirror (\"\" for the fall-back or none) and result."},
			[]string{"mirror", "result"}),
		passDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pando_check_pass_duration_seconds",
			Help: "How long each checker pass took.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{Name: "pando_check_passes_total",
			Help: "Checker passes completed."}),
		problems: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pando_mirror_problems",
			Help: "Problems the latest pass found, by mirror and kind."}, []string{"mirror", "kind"}),
		mirrorOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pando_mirror_ok",
			Help: "1 if the latest pass found the mirror healthy, else 0."}, []string{"mirror"}),
		mirrorLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pando_mirror_lag_seconds",
			Help: "How far the mirror's log is behind the origin's, in seconds, at the latest pass."}, []string{"mirror"}),
		originRecs: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pando_origin_records",
			Help: "Records in the origin's log at the latest pass."}),
		originAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pando_origin_age_seconds",
			Help: "Age of the origin's signed checkpoint at the latest pass."}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pando_check_last_pass_timestamp_seconds",
			Help: "Unix time the latest pass finished."}),
		checker: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pando_hub_checker",
			Help: "1 if this hub holds the checker lease and checks the mirrors, 0 if it follows another hub's checks."}),
	}
	m.reg.MustRegister(m.requests, m.redirects, m.passDuration, m.passes, m.problems,
		m.mirrorOK, m.mirrorLag, m.originRecs, m.originAge, m.lastPass, m.checker)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one HTTP request of a kind ("object", "api", ...)
// with a result such as a status class ("2xx", "3xx").
func (m *Metrics) ObserveRequest(kind, result string) {
	m.requestCounters.get(m.requests, kind, result).Inc()
}

// ObserveRedirect counts one object request answered for mirror ("" for the
// fall-back) with result ("redirect", "not_found", ...).
func (m *Metrics) ObserveRedirect(mirror, result string) {
	m.redirectCounters.get(m.redirects, mirror, result).Inc()
}

// ObservePass records a finished checker pass. The per-mirror gauges are
// reset first, so mirrors removed from hub.toml disappear. A nil report is
// ignored.
func (m *Metrics) ObservePass(rep *check.Report) {
	if rep == nil {
		return
	}
	m.passes.Inc()
	if d := rep.Finished.Sub(rep.Started); d >= 0 {
		m.passDuration.Observe(d.Seconds())
	}
	if !rep.Finished.IsZero() {
		m.lastPass.Set(float64(rep.Finished.UnixNano()) / float64(time.Second))
	}
	m.originRecs.Set(float64(rep.Origin.Records))
	m.originAge.Set(float64(rep.Origin.AgeSeconds))
	m.problems.Reset()
	m.mirrorOK.Reset()
	m.mirrorLag.Reset()
	for i := range rep.Mirrors {
		m.observeMirror(&rep.Mirrors[i])
	}
}

func (m *Metrics) observeMirror(mr *check.MirrorReport) {
	m.mirrorOK.WithLabelValues(mr.Name).Set(boolFloat(mr.OK))
	if mr.LagSeconds != nil {
		m.mirrorLag.WithLabelValues(mr.Name).Set(float64(*mr.LagSeconds))
	}
	for _, p := range mr.Problems {
		m.problems.WithLabelValues(mr.Name, string(p.Kind)).Inc()
	}
}

// ObserveChecker records whether this hub checks the mirrors (see the hub's
// checker lease).
func (m *Metrics) ObserveChecker(checks bool) { m.checker.Set(boolFloat(checks)) }

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
