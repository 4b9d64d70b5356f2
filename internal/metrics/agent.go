package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The results of one scheduled sync run of the mirror agent.
const (
	SyncSynced   = "synced"     // the tree moved to a newer signed state
	SyncUpToDate = "up_to_date" // the tree already held the upstream's state
	SyncFailed   = "failed"     // no upstream could be used; the old state is served
	SyncLocked   = "locked"     // another sync of the same tree held the lock
)

// Agent holds the collectors of the mirror agent ("pando mirror run") on a
// registry of its own.
type Agent struct {
	reg         *prometheus.Registry
	syncs       *prometheus.CounterVec
	syncSeconds prometheus.Histogram
	syncBytes   prometheus.Counter
	syncFiles   *prometheus.CounterVec
	lastSuccess prometheus.Gauge
	records     prometheus.Gauge
	requests    *prometheus.CounterVec
	reqCounters counterCache // of requests, counted on every request
	reports     *prometheus.CounterVec
	reported    prometheus.Counter
}

// A SyncRun is what the agent observed of one sync run.
type SyncRun struct {
	Result                   string // SyncSynced, SyncUpToDate, SyncFailed or SyncLocked
	Seconds                  float64
	Bytes                    int64 // fetched from the upstream
	Fetched, Reused, Removed int
	Records                  int64     // held after the run (successful runs only)
	Finished                 time.Time // when the run ended
}

// NewAgent returns the agent's metrics on a fresh registry.
func NewAgent() *Agent {
	a := &Agent{
		reg: prometheus.NewRegistry(),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pando_sync_runs_total",
			Help: "Scheduled sync runs, by result (synced, up_to_date, failed, locked)."}, []string{"result"}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pando_sync_duration_seconds",
			Help: "How long each sync run took.", Buckets: prometheus.ExponentialBuckets(0.005, 4, 10)}),
		syncBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "pando_sync_bytes_total",
			Help: "File bytes fetched from upstreams by sync runs."}),
		syncFiles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pando_sync_files_total",
			Help: "Files handled by sync runs, by action (fetched, reused, removed)."}, []string{"action"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pando_sync_last_success_timestamp_seconds",
			Help: "Unix time the latest successful sync run ended."}),
		records: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pando_sync_records",
			Help: "Records of the signed log the mirror holds after its latest successful sync."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pando_http_requests_total",
			Help: "HTTP requests the mirror answered, by kind of request and result (status class)."}, []string{"kind", "result"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pando_stats_reports_total",
			Help: "Download reports to the hub, by result (ok, failed)."}, []string{"result"}),
		reported: prometheus.NewCounter(prometheus.CounterOpts{Name: "pando_stats_downloads_reported_total",
			Help: "Downloads reported to the hub and acknowledged by it."}),
	}
	a.reg.MustRegister(a.syncs, a.syncSeconds, a.syncBytes, a.syncFiles, a.lastSuccess, a.records,
		a.requests, a.reports, a.reported)
	return a
}

// Handler serves the registry in the Prometheus text format.
func (a *Agent) Handler() http.Handler {
	return promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, for tests.
func (a *Agent) Registry() *prometheus.Registry { return a.reg }

// ObserveSync records one sync run.
func (a *Agent) ObserveSync(r SyncRun) {
	a.syncs.WithLabelValues(r.Result).Inc()
	if r.Result == SyncLocked {
		return
	}
	a.syncSeconds.Observe(r.Seconds)
	a.syncBytes.Add(float64(r.Bytes))
	a.syncFiles.WithLabelValues("fetched").Add(float64(r.Fetched))
	a.syncFiles.WithLabelValues("reused").Add(float64(r.Reused))
	a.syncFiles.WithLabelValues("removed").Add(float64(r.Removed))
	if r.Result == SyncSynced || r.Result == SyncUpToDate {
		a.lastSuccess.Set(float64(r.Finished.UnixNano()) / float64(time.Second))
		a.records.Set(float64(r.Records))
	}
}

// ObserveRequest counts one request the mirror answered.
func (a *Agent) ObserveRequest(kind string, code int) {
	a.reqCounters.get(a.requests, kind, StatusClass(code)).Inc()
}

// ObserveReport records one report to the hub and, when it succeeded, the
// downloads the hub acknowledged.
func (a *Agent) ObserveReport(err error, downloads int64) {
	if err != nil {
		a.reports.WithLabelValues("failed").Inc()
		return
	}
	a.reports.WithLabelValues("ok").Inc()
	a.reported.Add(float64(downloads))
}
