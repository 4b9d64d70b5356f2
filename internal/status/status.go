// Package status owns the hub's status pages: server-rendered HTML that
// shows a person the state of the mirror network.
//
//   - GET {base}                      every mirror: state per access point,
//     checkpoint, lag, completeness, problems (tampering first, in red), TLS
//     expiry, country, weight and share of redirects; the origin's latest
//     checkpoint and its age. Query parameters sort and filter the table:
//     sort, dir, filter and q (see docs/STATUS.md).
//   - GET {base}mirrors/{name}        one mirror: its access points, current
//     problems, lag and completeness over time as SVG charts, its recent
//     checks and its traffic.
//   - GET {base}objects?path=P        one object: its record and digest,
//     which mirrors hold it, downloads over time.
//   - GET {base}static/status.css     the style sheet.
//
// Pages need no JavaScript: sorting and filtering are links and a GET form,
// and charts are inline SVG drawn on the server. Everything the pages read
// comes through Source, which the hub implements.
package status

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/store"
)

// A Source is what the pages read. Its methods are called for every
// request and must be safe for concurrent use.
type Source interface {
	// Config returns the current configuration; never nil.
	Config() *config.Config
	// Origin returns the origin's latest verified log, or nil before the
	// first pass read it.
	Origin() *logdir.Log
	// Store returns the checker's store.
	Store() store.Store
	// Redirects returns how many downloads were redirected to the mirror
	// (over any period the hub chooses, the same for every mirror), and
	// false when the hub does not count them.
	Redirects(mirror string) (n int64, ok bool)
	// Downloads returns daily download counts between from and to, oldest
	// first, restricted to one mirror and/or one object path when q says
	// so. It returns nil and no error when statistics are not collected.
	Downloads(ctx context.Context, q DownloadQuery) ([]DayCount, error)
}

// A DownloadQuery selects download counts. An empty Mirror or Path means
// every mirror or every object.
type DownloadQuery struct {
	Mirror string
	Path   string
	From   time.Time // first day, inclusive
	To     time.Time // last day, inclusive
}

// A DayCount is the number of downloads on one day (UTC).
type DayCount struct {
	Day   time.Time // midnight UTC
	Count int64
}

// Options adjust the pages.
type Options struct {
	// Base is the URL path the pages are at, such as "/" or "/status/";
	// links on the pages start with it, and the handler strips it from
	// request paths. Default "/".
	Base string
	// History is how far back the charts reach. Default 7 days.
	History time.Duration
	Now     func() time.Time
	Log     *slog.Logger
}

// DefaultHistory is how far back the charts reach unless Options say.
const DefaultHistory = 7 * 24 * time.Hour

// maxHistory bounds Options.History.
const maxHistory = 400 * 24 * time.Hour

// A server renders the pages of one Source.
type server struct {
	src   Source
	opts  Options
	log   *slog.Logger
	pages pages
}

// Handler returns the status pages of src. It serves GET and HEAD
// requests for the paths in the package documentation, below opts.Base,
// and answers a page saying so for any other path below it.
func Handler(src Source, opts Options) http.Handler {
	opts = withDefaults(opts)
	s := &server{src: src, opts: opts, log: opts.Log, pages: parsePages()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /mirrors/{name}", s.mirror)
	mux.HandleFunc("GET /objects", s.object)
	mux.Handle("GET /static/status.css", styleHandler())
	mux.HandleFunc("/", s.notFound)
	if opts.Base == "/" {
		return mux
	}
	return http.StripPrefix(strings.TrimSuffix(opts.Base, "/"), mux)
}

func withDefaults(opts Options) Options {
	opts.Base = path.Clean("/" + opts.Base)
	if opts.Base != "/" {
		opts.Base += "/"
	}
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	opts.History = min(opts.History, maxHistory)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return opts
}

// notFound answers any path the pages do not have.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed",
			"The status pages answer GET and HEAD requests only.")
		return
	}
	s.errorPage(w, r, http.StatusNotFound, "Page not found",
		"There is no status page at "+s.opts.Base+strings.TrimPrefix(r.URL.Path, "/")+".")
}

// failed answers 500 after an error reading the store, logging it.
func (s *server) failed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error("status page", "path", r.URL.Path, "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "Status unavailable",
		"The hub could not read its store. The error is in the hub's log.")
}
