// Package agent owns the mirror agent behind "pando mirror run": one
// long-running process that keeps a mirror in sync on a schedule, serves
// its tree, reports the downloads it served to the hub, and exposes its own
// metrics, so a volunteer mirror needs no cron, no separate web server and
// no log shipping.
//
// Each part is the one the single-purpose commands use: every scheduled
// sync is a mirror.Sync run (locked, verified, two-stage), serving is
// package serve's handler and server, and reporting is stats.Ingest over
// the access log the agent writes, so counts survive a restart, a hub that
// is down and a retried batch exactly as "pando stats ingest" does. A sync
// that fails leaves the previous state served and is retried with backoff;
// only a server that cannot serve stops the agent.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/logfile"
	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/mirror"
	"github.com/pando-mirror/pando/internal/serve"
	"github.com/pando-mirror/pando/internal/stats"
)

// Defaults of the schedule.
const (
	DefaultInterval       = 15 * time.Minute
	DefaultRetryMin       = time.Minute
	DefaultReportInterval = 5 * time.Minute
)

// DefaultAccessLog is where the agent writes its access log, below the
// tree, when it reports to a hub and no other file is named: the private
// .pando/local area, which is never served and never synced.
const DefaultAccessLog = logdir.LocalDir + "/agent/access.log"

// DefaultLogMax is the size past which the agent's access log is rotated.
const DefaultLogMax = 64 << 20

// finalReportTimeout bounds the report sent while shutting down.
const finalReportTimeout = 15 * time.Second

// Options configure an agent.
type Options struct {
	// Sync is every scheduled run's configuration; Sync.Root is the tree
	// served. Sync.Wait is ignored: a run that finds the lock taken (a sync
	// started by hand) is skipped until the next one is due.
	Sync     mirror.Options
	Interval time.Duration // between runs (DefaultInterval); each wait is jittered by up to 10%
	RetryMin time.Duration // the first wait after a failed run (DefaultRetryMin), doubled up to Interval

	// Listener, if set, is where the tree is served, with Serve's settings.
	// Without it another web server serves the tree.
	Listener net.Listener
	Serve    serve.Config

	// AccessLog is the access log of whoever serves the tree. When the
	// agent serves, it writes the file (rotating it past LogMax bytes);
	// "" then means no log, or DefaultAccessLog below the tree when
	// reporting. Without a Listener it is the other server's log, in
	// LogFormat, read for reports.
	AccessLog string
	LogMax    int64 // DefaultLogMax when 0
	LogFormat stats.Format

	Report *Report // nil: downloads are not reported

	// MetricsListener, if set, serves GET /metrics; Metrics are the
	// collectors (nil for new ones).
	MetricsListener net.Listener
	Metrics         *metrics.Agent

	// Hangup, if set, asks the agent to reopen the access log it writes
	// (after logrotate moved it) and to sync at once; the command sends
	// on it for SIGHUP.
	Hangup <-chan struct{}

	Log *slog.Logger
}

// Report says where and how often the agent reports downloads.
type Report struct {
	Mirror       string       // this mirror's name in the hub's registry
	Sender       stats.Sender // the hub's intake, e.g. a *stats.Client
	Interval     time.Duration
	CountPartial bool // count 206 answers too (stats.IngestOptions.CountPartial)
}

// agent is one running agent.
type agent struct {
	o   Options
	m   *metrics.Agent
	log *slog.Logger
	out *logfile.File // the access log written; nil when not serving or not logging
}

// Run runs the agent until ctx ends, then stops serving (letting requests
// in flight finish), sends a last report and returns nil. It returns an
// error at once if the options are invalid or the tree cannot be opened,
// and later only if a server fails or the tree turns out to be on a file
// system that does not tell upper from lower case (mirror.CaseError),
// where no sync can succeed.
func Run(ctx context.Context, opts Options) error {
	a, err := start(opts)
	if err != nil {
		closeListeners(opts)
		return err
	}
	defer a.close()
	o := a.o
	root, err := os.OpenRoot(o.Sync.Root)
	if err != nil {
		closeListeners(o)
		return fmt.Errorf("tree: %w", err)
	}
	defer root.Close()

	g, gctx := errgroup.WithContext(ctx)
	served := make(chan struct{})
	if o.Listener != nil {
		g.Go(func() error {
			defer close(served)
			return serve.Serve(gctx, o.Listener, a.handler(root), o.Serve)
		})
	} else {
		close(served)
	}
	if o.MetricsListener != nil {
		g.Go(func() error {
			return serve.Serve(gctx, o.MetricsListener, metricsHandler(a.m), serve.Config{Logger: a.log})
		})
	}
	g.Go(func() error { return a.syncLoop(gctx) })
	if o.Report != nil {
		g.Go(func() error { a.reportLoop(gctx, served); return nil })
	}
	return g.Wait()
}

// start checks the options, fills in defaults and opens the access log.
func start(o Options) (*agent, error) {
	if err := check(&o); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Sync.Root, 0o755); err != nil {
		return nil, fmt.Errorf("tree: %w", err)
	}
	a := &agent{o: o, m: o.Metrics, log: o.Log}
	if a.m == nil {
		a.m = metrics.NewAgent()
	}
	if o.Listener != nil && o.AccessLog != "" {
		if err := os.MkdirAll(filepath.Dir(o.AccessLog), 0o755); err != nil {
			return nil, fmt.Errorf("access log: %w", err)
		}
		var err error
		if a.out, err = logfile.Open(o.AccessLog, o.LogMax); err != nil {
			return nil, fmt.Errorf("access log: %w", err)
		}
	}
	return a, nil
}

// check validates o and sets its defaults.
func check(o *Options) error {
	switch {
	case o.Sync.Root == "":
		return errors.New("agent: no tree to keep")
	case o.Interval < 0 || o.RetryMin < 0:
		return errors.New("agent: negative sync interval")
	case o.Report != nil && o.Report.Interval < 0:
		return errors.New("agent: negative report interval")
	case o.Report != nil && !stats.ValidMirrorName(o.Report.Mirror):
		return fmt.Errorf("agent: mirror name %q: want lowercase letters, digits and dashes", o.Report.Mirror)
	case o.Report != nil && o.Report.Sender == nil:
		return errors.New("agent: reporting downloads needs a sender")
	case o.Report != nil && o.AccessLog == "" && o.Listener == nil:
		return errors.New("agent: reporting downloads served by another server needs its access log")
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.LogMax <= 0 {
		o.LogMax = DefaultLogMax
	}
	if o.RetryMin == 0 {
		o.RetryMin = min(DefaultRetryMin, o.Interval)
	}
	if o.Report != nil {
		r := *o.Report // the caller's stays as it was
		if r.Interval == 0 {
			r.Interval = DefaultReportInterval
		}
		o.Report = &r
	}
	if o.Report != nil && o.AccessLog == "" {
		o.AccessLog = filepath.Join(o.Sync.Root, filepath.FromSlash(DefaultAccessLog))
	}
	if o.Listener != nil || o.LogFormat == 0 {
		o.LogFormat = stats.Combined // the format package serve writes, and nginx's default
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Serve.Logger == nil {
		o.Serve.Logger = o.Log
	}
	o.Sync.Wait = false
	if o.Sync.Log == nil {
		o.Sync.Log = o.Log
	}
	return nil
}

func (a *agent) close() {
	if a.out != nil {
		a.out.Close()
	}
}

// closeListeners closes what Run was handed when it cannot start.
func closeListeners(o Options) {
	for _, ln := range []net.Listener{o.Listener, o.MetricsListener} {
		if ln != nil {
			ln.Close()
		}
	}
}
