// Package hub owns the central service of a mirror network: it runs the
// checker on a schedule (or, of several hubs sharing a store, follows the
// one holding the checker lease, see lease.go), compiles what the checker
// found into the availability map after every pass, and serves the
// redirector over that map, the status pages, the statistics intake, the
// JSON API and the client-side assets, all on one store, pruning its
// history as it goes. hub.toml is reloaded on request (SIGHUP) without
// dropping a request.
package hub

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pando-mirror/pando/internal/check"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/serve"
	"github.com/pando-mirror/pando/internal/stats"
	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/upstream"
)

// Options adjust a hub beyond hub.toml.
type Options struct {
	Log   *slog.Logger
	Check func(check.Options) check.Options // adjusts the checker's options (tests)
	Now   func() time.Time
}

// A Hub is the running service.
type Hub struct {
	cfg     atomic.Pointer[config.Config]
	store   store.Store
	origin  atomic.Pointer[logdir.Log]
	opts    Options
	log     *slog.Logger
	kick    chan struct{}          // asks the loop for a pass now
	passes  atomic.Int64           // rounds done: passes checked, or followed (see lease.go)
	id      string                 // this hub among those sharing the store
	checker atomic.Pointer[string] // the holder of the checker lease
	last    atomic.Pointer[check.Report]
	red     *redirector
	export  *mapExport // nil without hub.key

	counter   *stats.Counter // redirects, flushed to the store
	redirects redirectCounts // redirects per mirror since start, for the status pages
	metrics   *metrics.Metrics
}

// New returns a hub over cfg and st. Run starts it.
func New(cfg *config.Config, st store.Store, opts Options) (*Hub, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Hub{store: st, opts: opts, log: opts.Log, kick: make(chan struct{}, 1), id: hubID(),
		counter: stats.NewCounter(st, "", opts.Now), metrics: metrics.New()}
	h.cfg.Store(cfg)
	red, err := newRedirector(h)
	if err != nil {
		return nil, err
	}
	h.red = red
	if h.export, err = newMapExport(cfg.Hub.Key, cfg.Hub.MapFile); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hub) config() *config.Config { return h.cfg.Load() }

// Reload replaces the configuration: mirrors, weights and policy take effect
// at once for redirects and at the next pass for checks. The store and the
// listen address are fixed for the hub's life.
func (h *Hub) Reload(ctx context.Context, cfg *config.Config) error {
	old := h.config()
	if cfg.Store.Driver != old.Store.Driver || cfg.Store.Path != old.Store.Path || cfg.Store.DSN != old.Store.DSN {
		return errors.New("the store cannot change on reload; restart the hub")
	}
	if cfg.Hub.Listen != old.Hub.Listen {
		h.log.Warn("the listen address cannot change on reload; keeping it", "listen", old.Hub.Listen)
	}
	if err := h.red.configure(cfg); err != nil {
		return err
	}
	h.cfg.Store(cfg)
	if err := h.red.rebuild(ctx); err != nil {
		return err
	}
	h.CheckSoon()
	return nil
}

// CheckSoon asks for a pass as soon as the current one (if any) ends.
func (h *Hub) CheckSoon() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// LastReport returns the report of the latest pass, or nil before the first.
func (h *Hub) LastReport() *check.Report { return h.last.Load() }

// Passes returns how many passes have completed.
func (h *Hub) Passes() int64 { return h.passes.Load() }

// Run serves on ln and checks on schedule until ctx ends. A DNS server
// that fails (its address cannot be bound, say) stops the whole hub, so a
// half-working hub does not go unnoticed.
func (h *Hub) Run(ctx context.Context, ln net.Listener) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { h.loop(ctx) })
	wg.Go(func() { h.runCounter(ctx) })
	dnsDone := make(chan error, 1)
	go func() {
		err := h.serveDNS(ctx)
		if err != nil {
			stop()
		}
		dnsDone <- err
	}()
	err := serve.Serve(ctx, ln, h.Handler(), serve.Config{Logger: h.log})
	stop()
	wg.Wait()
	return errors.Join(err, <-dnsDone)
}

// loop runs a pass at start, unless one just ran, and then every check
// interval.
func (h *Hub) loop(ctx context.Context) {
	skip := h.Passes() > 0
	for {
		start := time.Now()
		if !skip {
			if err := h.Pass(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("check pass failed", "err", err)
			}
		}
		skip = false
		wait := h.config().Check.Interval - time.Since(start)
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// Pass runs one checker pass and compiles the new availability map; when
// another hub sharing the store holds the checker lease, it compiles the
// map from that hub's results instead.
func (h *Hub) Pass(ctx context.Context) error {
	cfg := h.config()
	origin, err := check.FetchOrigin(ctx, h.store, cfg.Origin.URL, cfg.Origin.Verifier, upstream.Config{})
	if err != nil {
		return err
	}
	h.origin.Store(origin)
	checks, err := h.takeLease(ctx, cfg)
	if err != nil {
		return err
	}
	if !checks {
		return h.compile(ctx) // from the checking hub's results
	}
	opts := check.OptionsFromConfig(cfg)
	opts.Log = h.log
	if h.opts.Check != nil {
		opts = h.opts.Check(opts)
	}
	var mirrors []config.Mirror
	for _, m := range cfg.Mirrors {
		if m.Enabled() {
			mirrors = append(mirrors, m)
		}
	}
	rep, err := check.Pass(ctx, h.store, origin, cfg.Origin.URL, mirrors, opts)
	if err != nil {
		return err
	}
	h.prune(ctx, cfg)
	h.last.Store(rep)
	h.metrics.ObservePass(rep)
	if err := h.compile(ctx); err != nil {
		return err
	}
	h.log.Info("check pass", "pass", rep.Pass, "mirrors", len(rep.Mirrors), "healthy", rep.OK(),
		"seconds", rep.Finished.Sub(rep.Started).Seconds())
	return nil
}

// prune forgets the check history older than store.keep. A failure is
// logged: the next pass prunes again.
func (h *Hub) prune(ctx context.Context, cfg *config.Config) {
	p, err := h.store.Prune(ctx, h.opts.Now().Add(-cfg.Store.Keep))
	switch {
	case err != nil:
		h.log.Error("pruning the store", "err", err)
	case p != (store.Pruned{}):
		h.log.Info("pruned the store", "passes", p.Passes, "problems", p.Problems, "stats_batches", p.Batches,
			"older_than", cfg.Store.Keep)
	}
}

// Handler returns the hub's HTTP interface.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/mirrors", h.apiMirrors)
	mux.HandleFunc("GET /api/v1/mirrors/{name}", h.apiMirrors)
	mux.HandleFunc("GET /api/v1/objects", h.apiObjects)
	mux.HandleFunc("GET /api/v1/status", h.apiStatus)
	mux.Handle("GET /availability.map", h.export)
	mux.Handle("GET /metrics", h.metrics.Handler())
	h.mountStatus(mux)
	h.mountStats(mux)
	mux.Handle("/", h.red)
	return h.countRequests(mux)
}

// countRequests counts every request the hub answers, by kind, and every
// object request by the mirror its redirect names. Scrapes of /metrics are
// not counted.
func (h *Hub) countRequests(mux *http.ServeMux) http.Handler {
	return metrics.Observe(mux, func(r *http.Request, code int, mirror string) {
		kind := requestKind(r)
		if kind == "metrics" {
			return
		}
		h.metrics.ObserveRequest(kind, metrics.StatusClass(code))
		if kind == "object" {
			h.metrics.ObserveRedirect(mirror, metrics.RedirectResult(code))
		}
	})
}

// requestKind classifies a request by the pattern the mux matched (set on
// r by the mux): what the redirector answers as the edge classifies it,
// "status" for the status pages and their assets, "api", "map" and
// "metrics".
func requestKind(r *http.Request) string {
	switch pat := r.Pattern; {
	case pat == "GET /metrics":
		return "metrics"
	case pat == "GET /availability.map":
		return "map"
	case strings.Contains(pat, " /api/") || pat == "GET /stats.csv":
		return "api"
	case pat != "/" && pat != "", r.URL.Path == "/pando-mirrors.js":
		return "status"
	}
	return metrics.RequestKind(r)
}

func (h *Hub) apiStatus(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"passes": h.Passes(), "hub": h.id, "checker": h.Checker()}
	if o := h.origin.Load(); o != nil {
		out["origin"] = map[string]any{"records": o.N(), "root": o.Checkpoint.Hash.String(), "signed": o.Checkpoint.Time}
	}
	if rep := h.last.Load(); rep != nil {
		out["last_pass"] = map[string]any{"id": rep.Pass, "started": rep.Started, "finished": rep.Finished, "healthy": rep.OK()}
	}
	writeJSON(w, out)
}
