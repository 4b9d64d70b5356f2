package main

import (
	"context"
	"net"
	"time"

	"github.com/pando-mirror/pando/internal/agent"
	"github.com/pando-mirror/pando/internal/serve"
	"github.com/pando-mirror/pando/internal/stats"
)

const mirrorRunHelp = `Usage: pando mirror run --upstream URL --root DIR --pubkey KEY [--listen ADDR] [--hub URL --mirror NAME --token-file FILE] [flags]

The mirror agent: one long-running process (for systemd or any service
manager) that keeps the mirror tree at DIR in sync, serves it, reports its
downloads to the hub and exposes its metrics.

Syncing: a sync runs at start and then every --interval (each wait moved by
up to 10% so that mirrors do not all ask the upstream at once). Every run is
a "pando mirror sync" with the same flags: locked, verified, two-stage, so
the tree served is always a state the origin signed. A run that fails is
logged and retried after --retry, doubling up to --interval; the previous
state is served meanwhile. A run that finds another sync of the tree
holding the lock (one started by hand) is skipped.

Serving, with --listen: the tree is served as "pando serve" serves it
(Range, ETag, conditional requests, .pando/local never served), over HTTPS
with --tls-cert and --tls-key. Without --listen another web server (nginx)
serves the tree.

Reporting, with --hub, --mirror and --token-file: every --report-interval
the downloads found in the access log since the last report are sent to
the hub, as "pando stats ingest" sends them: a hub that is down gets them
later, a restart neither loses nor repeats a count, and a last report goes
out on shutdown. When the agent serves, it writes that log itself
(--access-log, default DIR/.pando/local/agent/access.log) and rotates it
past 64 MiB into FILE.1 to FILE.9. Without --listen, --access-log names the
other server's log, in --log-format.

Metrics, with --metrics-listen: GET /metrics in the Prometheus text format
(sync runs by result, bytes and files synced, records held, the last
success, requests served by kind, reports); docs/METRICS.md lists them.

SIGHUP reloads the TLS certificate and key, reopens the access log the agent
writes (for logrotate) and starts a sync at once. On SIGINT or SIGTERM the
agent stops syncing, lets requests in flight finish
for up to 10s, sends the last report and exits 0. Exit status 1 if the tree,
an address, the TLS files, the access log or the token cannot be used; 2 on
bad usage.`

// mirrorRunFlags are the parsed flags of "pando mirror run" beyond the sync's.
type mirrorRunFlags struct {
	sync                         syncFlags
	interval, retry, reportEvery time.Duration
	listen, cert, key, metricsAt string
	accessLog, logFormat         string
	hub, mirror, tokenFile       string
	countPartial                 bool
}

func runMirrorRun(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "mirror run", mirrorRunHelp)
	var f mirrorRunFlags
	f.sync.register(fs)
	fs.DurationVar(&f.interval, "interval", agent.DefaultInterval, "time between syncs")
	fs.DurationVar(&f.retry, "retry", agent.DefaultRetryMin, "first wait after a failed sync, doubled up to --interval")
	fs.StringVar(&f.listen, "listen", "", "serve the tree on `ADDR` (host:port); empty: another web server serves it")
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE` (needs --tls-key)")
	fs.StringVar(&f.key, "tls-key", "", "the PEM private key in `FILE` for --tls-cert")
	fs.StringVar(&f.metricsAt, "metrics-listen", "", "serve GET /metrics on `ADDR`")
	fs.StringVar(&f.accessLog, "access-log", "", "the access log `FILE`: written when serving, read for reports otherwise")
	fs.StringVar(&f.logFormat, "log-format", "combined", "format of another server's --access-log: combined or common")
	fs.StringVar(&f.hub, "hub", "", "report downloads to the hub at `URL`")
	fs.StringVar(&f.mirror, "mirror", "", "this mirror's `NAME` in the hub's registry (with --hub)")
	fs.StringVar(&f.tokenFile, "token-file", "", "the `FILE` holding this mirror's token from hub.toml (with --hub)")
	fs.DurationVar(&f.reportEvery, "report-interval", agent.DefaultReportInterval, "time between download reports")
	fs.BoolVar(&f.countPartial, "count-partial", false, "count 206 (Range) answers as downloads too")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	o, steps, err := f.options(e)
	if err != nil {
		return err
	}
	if o.Listener, err = listenIf(ctx, f.listen); err != nil {
		return err
	}
	if o.MetricsListener, err = listenIf(ctx, f.metricsAt); err != nil {
		if o.Listener != nil {
			o.Listener.Close()
		}
		return err
	}
	hangup := make(chan struct{}, 1)
	o.Hangup = hangup
	onHangup(ctx, o.Log, append(steps, forwardHangup(hangup))...)
	return agent.Run(ctx, o)
}

// forwardHangup hands SIGHUP on to the agent, which reopens its access log
// and syncs at once.
func forwardHangup(c chan<- struct{}) reloadStep {
	return reloadStep{"pass", "it on to the agent (reopen its access log, sync now)", func() error {
		select {
		case c <- struct{}{}:
		default: // one is pending already
		}
		return nil
	}}
}

// options checks the flags and turns them into the agent's options and
// what SIGHUP reloads; the listeners are left to the caller.
func (f *mirrorRunFlags) options(e *env) (agent.Options, []reloadStep, error) {
	o, err := f.agentOptions(e)
	if err != nil || f.cert == "" {
		return o, nil, err
	}
	var step reloadStep
	if o.Serve.TLS, step, err = loadTLS(f.cert, f.key); err != nil {
		return o, nil, err
	}
	return o, []reloadStep{step}, nil
}

// agentOptions checks the flags and turns them into the agent's options,
// without TLS.
func (f *mirrorRunFlags) agentOptions(e *env) (agent.Options, error) {
	so, err := f.sync.options()
	if err != nil {
		return agent.Options{}, err
	}
	switch {
	case f.interval <= 0 || f.retry <= 0 || f.reportEvery <= 0:
		return agent.Options{}, usagef("--interval, --retry and --report-interval want positive durations")
	case (f.cert == "") != (f.key == ""):
		return agent.Options{}, usagef("--tls-cert and --tls-key go together")
	case f.cert != "" && f.listen == "":
		return agent.Options{}, usagef("--tls-cert needs --listen")
	}
	format, err := stats.ParseFormat(f.logFormat)
	if err != nil {
		return agent.Options{}, usagef("--log-format: %v", err)
	}
	log := e.logger()
	o := agent.Options{
		Sync: so, Interval: f.interval, RetryMin: f.retry,
		Serve:     serve.Config{Logger: log},
		AccessLog: f.accessLog, LogFormat: format, Log: log,
	}
	o.Report, err = f.report()
	if err == nil && o.Report != nil && f.listen == "" && f.accessLog == "" {
		err = usagef("reporting without --listen needs --access-log: the log of the server that serves the tree")
	}
	return o, err
}

// report returns where downloads are reported, or nil without --hub.
func (f *mirrorRunFlags) report() (*agent.Report, error) {
	if f.hub == "" {
		if f.mirror != "" || f.tokenFile != "" {
			return nil, usagef("--mirror and --token-file go with --hub")
		}
		return nil, nil
	}
	if f.mirror == "" || f.tokenFile == "" {
		return nil, usagef("--hub needs --mirror and --token-file")
	}
	if !stats.ValidMirrorName(f.mirror) {
		return nil, usagef("--mirror %q: want lowercase letters, digits and dashes, as in hub.toml", f.mirror)
	}
	c, err := statsClient(f.hub, f.tokenFile)
	if err != nil {
		return nil, err
	}
	return &agent.Report{Mirror: f.mirror, Interval: f.reportEvery, CountPartial: f.countPartial, Sender: c}, nil
}

// listenIf listens on addr, or returns nil for an empty addr.
func listenIf(ctx context.Context, addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	return listen(ctx, addr)
}
