package hub

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/web"
)

// redirector answers downloads from the current availability map. rebuild
// compiles a new map from the store after every pass and swaps it in;
// requests in flight keep the map they started with. The handler itself is
// rebuilt on reload, when the policy (fallback, proxies, GeoIP) may change.
type redirector struct {
	h       *Hub
	m       atomic.Pointer[availability.Map]
	handler atomic.Pointer[http.Handler]
	geo     atomic.Pointer[geo.DB]
}

func newRedirector(h *Hub) (*redirector, error) {
	r := &redirector{h: h}
	if err := r.configure(h.config()); err != nil {
		return nil, err
	}
	return r, nil
}

// configure builds the handler for cfg's redirect policy.
func (r *redirector) configure(cfg *config.Config) error {
	g, err := geo.Open(cfg.Redirect.GeoIP, cfg.Redirect.ASNDB)
	if err != nil {
		return err
	}
	if old := r.geo.Swap(g); old != nil {
		// Requests in flight may still read the old database.
		time.AfterFunc(time.Minute, func() { old.Close() })
	}
	opts := redirect.Options{
		Fallback:       cfg.Hub.Fallback,
		TrustedProxies: cfg.Redirect.TrustedProxies,
		Candidates:     cfg.Redirect.Candidates,
		SelectOptions:  redirect.SelectOptions{AllowInsecure: cfg.Redirect.AllowInsecure},
	}
	var h http.Handler = redirect.Handler(r.m.Load, g, opts)
	r.handler.Store(&h)
	return nil
}

// rebuild compiles the availability map from the latest results.
func (r *redirector) rebuild(ctx context.Context) error {
	origin := r.h.origin.Load()
	if origin == nil {
		return nil
	}
	cfg := r.h.config()
	latest, err := r.h.store.LatestResults(ctx)
	if err != nil {
		return err
	}
	m, err := availability.CompileFrom(ctx, origin, cfg.Mirrors, latest, r.h.store.EachObject, r.h.opts.Now())
	if err != nil {
		return err
	}
	r.m.Store(m.WithFallback(cfg.Hub.Fallback))
	return nil
}

// Map returns the current availability map, or nil before the first pass.
func (h *Hub) Map() *availability.Map { return h.red.m.Load() }

func (r *redirector) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/pando-mirrors.js" {
		web.ScriptHandler().ServeHTTP(w, req)
		return
	}
	(*r.handler.Load()).ServeHTTP(r.countRedirect(req, w), req)
}
