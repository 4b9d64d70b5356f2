package hub

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/internal/stats"
	"github.com/pando-mirror/pando/internal/status"
	"github.com/pando-mirror/pando/internal/store"
)

// mountStats serves the statistics intake and queries.
func (h *Hub) mountStats(mux *http.ServeMux) {
	tokens := func(mirror string) (string, bool) {
		m, ok := h.config().Mirror(mirror)
		return m.Token, ok && m.Token != ""
	}
	mux.Handle("POST /api/v1/stats", stats.IntakeHandler(h.store, tokens, h.opts.Now))
	mux.Handle("GET /api/v1/stats", stats.QueryHandler(h.store, h.opts.Now))
	mux.Handle("GET /stats.csv", stats.CSVHandler(h.store, h.opts.Now))
}

// countingWriter watches the redirector's answer to one GET of an object
// and counts the download for the mirror the answer names.
type countingWriter struct {
	http.ResponseWriter
	red      *redirector
	answer   redirect.Answer
	answered bool // the redirector answered for an object
	done     bool
}

// RecordAnswer implements redirect.Recorder.
func (w *countingWriter) RecordAnswer(a redirect.Answer) { w.answer, w.answered = a, true }

// Unwrap lets the redirector reach the writers under this one.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *countingWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		if code == http.StatusFound && w.answered {
			w.red.count(w.answer)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// countRedirect wraps w so that every GET of an object answered with a
// redirect is counted for its mirror ("" for the fall-back) and the
// client's country, as the redirector's answer names them.
func (r *redirector) countRedirect(req *http.Request, w http.ResponseWriter) http.ResponseWriter {
	if req.Method != http.MethodGet || req.URL.RawQuery != "" {
		return w
	}
	return &countingWriter{ResponseWriter: w, red: r}
}

// count counts one redirect.
func (r *redirector) count(a redirect.Answer) {
	r.h.counter.Count(a.Path, a.Mirror, a.Country)
	r.h.redirects.add(a.Mirror)
}

// runCounter flushes counted redirects to the store every minute and when
// ctx ends.
func (h *Hub) runCounter(ctx context.Context) {
	h.counter.Run(ctx, time.Minute, func(err error) {
		if err != nil {
			h.log.Error("storing redirect counts", "err", err)
		}
	})
}

// Redirects reports the redirects counted for a mirror since the hub
// started, for the status pages' share column.
func (s statusSource) Redirects(mirror string) (int64, bool) {
	return s.h.redirects.count(mirror), true
}

// Downloads reads the download totals per day from the store.
func (s statusSource) Downloads(ctx context.Context, q status.DownloadQuery) ([]status.DayCount, error) {
	res, err := s.h.store.QueryStats(ctx, statsQuery(q))
	if err != nil {
		return nil, err
	}
	return dayCounts(res, q.Mirror), nil
}

func statsQuery(q status.DownloadQuery) store.StatsQuery {
	return store.StatsQuery{From: q.From.UTC().Format(store.StatsDayLayout), To: q.To.UTC().Format(store.StatsDayLayout), Path: q.Path}
}

// dayCounts sums the rows that make up the totals (stats.Counted) per day,
// for one mirror or all.
func dayCounts(res store.StatsResult, mirror string) []status.DayCount {
	byDay := map[string]int64{}
	var days []string
	for _, r := range stats.Counted(res) {
		if mirror != "" && r.Mirror != mirror {
			continue
		}
		if _, seen := byDay[r.Day]; !seen {
			days = append(days, r.Day)
		}
		byDay[r.Day] += r.Downloads
	}
	sort.Strings(days)
	out := make([]status.DayCount, 0, len(days))
	for _, d := range days {
		t, err := time.Parse(store.StatsDayLayout, d)
		if err == nil {
			out = append(out, status.DayCount{Day: t, Count: byDay[d]})
		}
	}
	return out
}

// redirectCounts counts redirects per mirror since the hub started.
type redirectCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *redirectCounts) add(mirror string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int64)
	}
	c.n[mirror]++
}

func (c *redirectCounts) count(mirror string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[mirror]
}
