package stats

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/store"
)

// Counted returns the rows of res that make up the download totals, so
// that no download is counted twice: every count a mirror reported from
// its own log, and the hub's count of redirects to a mirror only on days
// that mirror reported nothing (it does not report, or has not yet). The
// hub's redirects to its fallback host (mirror "") always count.
//
// A redirect and the download it leads to are one download seen twice, by
// the hub and by the mirror's log; for a mirror that reports, its log sees
// every download from it, redirected or not, so the hub's count of it adds
// nothing.
func Counted(res store.StatsResult) []store.StatRow {
	reported := make(map[store.MirrorDay]bool, len(res.Reported))
	for _, d := range res.Reported {
		reported[d] = true
	}
	out := make([]store.StatRow, 0, len(res.Rows))
	for _, r := range res.Rows {
		if r.Source == store.StatsFromHub && reported[store.MirrorDay{Mirror: r.Mirror, Day: r.Day}] {
			continue
		}
		out = append(out, r)
	}
	return out
}

// Limits on a query.
const (
	MaxQueryDays = 366     // days from "from" to "to"
	MaxQueryRows = 200_000 // rows read from the store
	defaultDays  = 30
)

// QueryHandler returns the handler of GET /api/v1/stats?path=&from=&to=:
// downloads per object and day as JSON, by source and by mirror (mirror ""
// is the fallback host). Every parameter is optional: path selects one
// object, from and to (YYYY-MM-DD, UTC, inclusive) default to the 30 days
// up to today (as now says). A bad parameter is answered 400 naming it.
func QueryHandler(st store.Store, now func() time.Time) http.Handler {
	return &queryHandler{st: st, now: now, csv: false}
}

// CSVHandler returns the handler of GET /stats.csv, with the parameters of
// QueryHandler: one row per day, object, mirror, country and source that
// counts (see Counted), under the header
// day,path,mirror,country,source,downloads.
func CSVHandler(st store.Store, now func() time.Time) http.Handler {
	return &queryHandler{st: st, now: now, csv: true}
}

type queryHandler struct {
	st  store.Store
	now func() time.Time
	csv bool
}

func (h *queryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	now := time.Now
	if h.now != nil {
		now = h.now
	}
	q, err := parseQuery(r, now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := h.st.QueryStats(r.Context(), q)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if res.Truncated {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("more than %d rows: give a path, or a shorter range with from and to", MaxQueryRows))
		return
	}
	if h.csv {
		writeCSV(w, Counted(res))
		return
	}
	writeJSON(w, http.StatusOK, summarize(q, res))
}

// parseQuery reads and checks path, from and to; nothing else is allowed.
func parseQuery(r *http.Request, now time.Time) (store.StatsQuery, error) {
	vals := r.URL.Query()
	for k, v := range vals {
		if k != "path" && k != "from" && k != "to" {
			return store.StatsQuery{}, fmt.Errorf("unknown parameter %.64q: want path, from or to", k)
		}
		if len(v) > 1 {
			return store.StatsQuery{}, fmt.Errorf("%s: given %d times", k, len(v))
		}
	}
	to, err := dayParam(vals.Get("to"), "to", DayOf(now))
	if err != nil {
		return store.StatsQuery{}, err
	}
	from, err := dayParam(vals.Get("from"), "from", to-defaultDays+1)
	if err != nil {
		return store.StatsQuery{}, err
	}
	switch {
	case from > to:
		return store.StatsQuery{}, fmt.Errorf("from: %s is after to (%s)", from, to)
	case to-from+1 > MaxQueryDays:
		return store.StatsQuery{}, fmt.Errorf("from, to: %d days; at most %d", to-from+1, MaxQueryDays)
	}
	q := store.StatsQuery{From: from.String(), To: to.String(), Limit: MaxQueryRows}
	if p := vals.Get("path"); p != "" {
		q.Path = strings.TrimPrefix(p, "/")
		if err := journal.CheckPath(q.Path); err != nil {
			return store.StatsQuery{}, fmt.Errorf("path: %w", err)
		}
	}
	return q, nil
}

func dayParam(s, name string, def Day) (Day, error) {
	if s == "" {
		return def, nil
	}
	d, err := ParseDay(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if d < firstDay {
		return 0, fmt.Errorf("%s: %s is before %s", name, s, firstDay)
	}
	return d, nil
}

// The JSON answer of QueryHandler. Field names are part of the API.
type apiStats struct {
	From     string           `json:"from"`
	To       string           `json:"to"`
	Path     string           `json:"path,omitempty"`
	Total    int64            `json:"total"`     // downloads, each counted once
	BySource map[string]int64 `json:"by_source"` // of total
	Days     []apiDay         `json:"days"`
}

type apiDay struct {
	Day       string           `json:"day"`
	Path      string           `json:"path"`
	Downloads int64            `json:"downloads"`
	BySource  map[string]int64 `json:"by_source"`
	ByMirror  map[string]int64 `json:"by_mirror"`
	// Redirects is every redirect the hub answered for the object that
	// day, whether or not it is in Downloads.
	Redirects int64 `json:"redirects"`
}

func summarize(q store.StatsQuery, res store.StatsResult) apiStats {
	out := apiStats{From: q.From, To: q.To, Path: q.Path, BySource: map[string]int64{}, Days: []apiDay{}}
	counted := Counted(res)
	idx := map[[2]string]int{}
	day := func(r store.StatRow) *apiDay {
		k := [2]string{r.Day, r.Path}
		i, ok := idx[k]
		if !ok {
			i = len(out.Days)
			idx[k] = i
			out.Days = append(out.Days, apiDay{Day: r.Day, Path: r.Path, BySource: map[string]int64{}, ByMirror: map[string]int64{}})
		}
		return &out.Days[i]
	}
	// Rows come ordered by day and path, and counted ones are a subset in
	// the same order, so days are appended in order.
	ci := 0
	for _, r := range res.Rows {
		d := day(r)
		if r.Source == store.StatsFromHub {
			d.Redirects += r.Downloads
		}
		if ci < len(counted) && counted[ci] == r {
			ci++
			d.Downloads += r.Downloads
			d.BySource[string(r.Source)] += r.Downloads
			d.ByMirror[r.Mirror] += r.Downloads
			out.Total += r.Downloads
			out.BySource[string(r.Source)] += r.Downloads
		}
	}
	return out
}

func writeCSV(w http.ResponseWriter, rows []store.StatRow) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"day", "path", "mirror", "country", "source", "downloads"})
	for _, r := range rows {
		_ = cw.Write([]string{r.Day, r.Path, r.Mirror, r.Country, string(r.Source), strconv.FormatInt(r.Downloads, 10)})
	}
	cw.Flush() // write errors: the client went away
}
