package hub

import (
	"net/http"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/status"
	"github.com/pando-mirror/pando/internal/store"
)

// statusSource is what the status pages read from the hub.
type statusSource struct{ h *Hub }

func (s statusSource) Config() *config.Config { return s.h.config() }
func (s statusSource) Origin() *logdir.Log    { return s.h.origin.Load() }
func (s statusSource) Store() store.Store     { return s.h.store }

// mountStatus serves the status pages at the URLs the issue names; every
// other path is a download for the redirector.
func (h *Hub) mountStatus(mux *http.ServeMux) {
	st := status.Handler(statusSource{h}, status.Options{Log: h.log, Now: h.opts.Now})
	for _, p := range []string{"GET /{$}", "GET /mirrors/{name}", "GET /objects", "GET /static/status.css"} {
		mux.Handle(p, st)
	}
}
