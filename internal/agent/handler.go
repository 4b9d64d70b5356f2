package agent

import (
	"net/http"
	"os"
	"strings"

	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/serve"
)

// handler serves the tree, writes the access log and counts every request.
func (a *agent) handler(root *os.Root) http.Handler {
	h := serve.Handler(root, serve.Options{Logger: a.log})
	if a.out != nil {
		h = serve.AccessLog(h, a.out)
	}
	return metrics.Observe(h, func(r *http.Request, code int, _ string) {
		a.m.ObserveRequest(requestKind(r), code)
	})
}

// requestKind classifies a request to the mirror: "file" for a GET or HEAD
// of a file, "log" for the signed log under .pando/ (syncs of other mirrors
// and the checker), "listing" for a directory, "other" for other methods.
func requestKind(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/")
	first, _, _ := strings.Cut(p, "/")
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return "other"
	case strings.EqualFold(first, logdir.Dir):
		return "log"
	case p == "" || strings.HasSuffix(p, "/"):
		return "listing"
	}
	return "file"
}

// metricsHandler serves GET /metrics and nothing else.
func metricsHandler(m *metrics.Agent) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return mux
}
