package status

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/store"
)

// maxQueryLen bounds the name filter, in bytes.
const maxQueryLen = 100

// A listQuery is how the overview is sorted and filtered, from the URL.
type listQuery struct {
	Sort   string // a sortable column's key
	Desc   bool
	Filter string // "all", "problems" or "healthy"
	Q      string // part of a mirror's name, or its country code
}

// A column is one sortable column of the overview.
type column struct {
	Key, Label string
	desc       bool // sorted descending when first chosen: worst or biggest first
}

// sortable lists the sortable columns, in table order.
func sortable() []column {
	return []column{
		{Key: "name", Label: "Mirror"},
		{Key: "state", Label: "State"},
		{Key: "checkpoint", Label: "Checkpoint"},
		{Key: "lag", Label: "Lag", desc: true},
		{Key: "complete", Label: "Complete"},
		{Key: "problems", Label: "Problems", desc: true},
		{Key: "tls", Label: "TLS expiry"},
		{Key: "country", Label: "Country"},
		{Key: "weight", Label: "Weight", desc: true},
		{Key: "redirects", Label: "Redirects", desc: true},
	}
}

// filters lists the choices of the filter parameter: value and label.
func filters() [][2]string {
	return [][2]string{{"all", "All mirrors"}, {"problems", "Needing attention"}, {"healthy", "Healthy"}}
}

// parseListQuery reads the query; unknown values fall back to the defaults
// (worst state first, every mirror), so an old bookmark still works.
func parseListQuery(v url.Values) listQuery {
	q := listQuery{Sort: "state", Filter: "all"}
	if k := v.Get("sort"); slices.ContainsFunc(sortable(), func(c column) bool { return c.Key == k }) {
		q.Sort = k
	}
	switch v.Get("dir") {
	case "desc":
		q.Desc = true
	case "asc":
	default:
		q.Desc = columnFor(q.Sort).desc
	}
	if f := v.Get("filter"); slices.ContainsFunc(filters(), func(o [2]string) bool { return o[0] == f }) {
		q.Filter = f
	}
	q.Q = strings.TrimSpace(v.Get("q"))
	if len(q.Q) > maxQueryLen {
		q.Q = strings.ToValidUTF8(q.Q[:maxQueryLen], "")
	}
	return q
}

// dirName is a direction's value in the URL: "asc" or "desc".
func dirName(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

// dirWord is a direction in words, as aria-sort names it.
func dirWord(desc bool) string {
	if desc {
		return "descending"
	}
	return "ascending"
}

func columnFor(key string) column {
	for _, c := range sortable() {
		if c.Key == key {
			return c
		}
	}
	return column{}
}

// url returns the overview's URL with q's parameters, leaving defaults out.
func (q listQuery) url(base string) string {
	v := url.Values{}
	if q.Sort != "state" || q.Desc {
		v.Set("sort", q.Sort)
		v.Set("dir", dirName(q.Desc))
	}
	if q.Filter != "all" {
		v.Set("filter", q.Filter)
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

// A columnView is a sortable column's header: a link that sorts by it, or
// reverses the order if the table is sorted by it already.
type columnView struct {
	Label    string
	URL      string
	AriaSort string // "ascending", "descending" or "none"
	Next     string // what following the link does, for screen readers
}

func columnViews(base string, q listQuery) map[string]columnView {
	out := map[string]columnView{}
	for _, c := range sortable() {
		next := q
		next.Sort, next.Desc = c.Key, c.desc
		cv := columnView{Label: c.Label, AriaSort: "none"}
		if q.Sort == c.Key {
			next.Desc = !q.Desc
			cv.AriaSort = dirWord(q.Desc)
		}
		cv.URL = next.url(base)
		cv.Next = "sort by " + strings.ToLower(c.Label) + ", " + dirWord(next.Desc)
		out[c.Key] = cv
	}
	return out
}

// An option is one choice of a select element.
type option struct {
	Value, Label string
	Selected     bool
}

// An originView describes the origin's latest checkpoint.
type originView struct {
	Name    string
	URL     string
	Records int64
	Root    string
	Signed  time.Time
	Age     time.Duration
	MaxAge  time.Duration
	Frozen  bool
}

func newOriginView(cfg *config.Config, log *logdir.Log, now time.Time) *originView {
	if log == nil {
		return nil
	}
	cp := log.Checkpoint
	age := max(now.Sub(cp.Time), 0)
	return &originView{Name: cp.Origin, URL: cfg.Origin.URL, Records: cp.N, Root: cp.Hash.String(),
		Signed: cp.Time, Age: age, MaxAge: cfg.Origin.MaxAge, Frozen: cfg.Origin.MaxAge > 0 && age > cfg.Origin.MaxAge}
}

// indexBody is the data of the overview.
type indexBody struct {
	Origin    *originView
	LastPass  *store.Pass
	Rows      []mirrorRow
	Columns   map[string]columnView
	Query     listQuery
	Filters   []option
	Total     int // mirrors in the registry
	Healthy   int
	Bad       int
	Alerts    []mirrorRow // mirrors serving tampered data or an untrusted log
	Redirects bool        // some mirror has a redirect count
	Lookup    lookupForm
	ResetURL  string
}

// A lookupForm is the form that opens an object's page.
type lookupForm struct {
	Action, Value string
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cfg, now := s.src.Config(), s.opts.Now()
	latest, err := s.src.Store().LatestResults(ctx)
	if err != nil {
		s.failed(w, r, err)
		return
	}
	passes, err := s.src.Store().Passes(ctx, 1)
	if err != nil {
		s.failed(w, r, err)
		return
	}
	q := parseListQuery(r.URL.Query())
	origin := newOriginView(cfg, s.src.Origin(), now)
	body := indexBody{Origin: origin, Query: q, Columns: columnViews(s.opts.Base, q),
		Lookup: lookupForm{Action: s.opts.Base + "objects"}, ResetURL: s.opts.Base}
	if len(passes) > 0 {
		body.LastPass = &passes[0]
	}
	rows := s.rows(cfg, latest, origin, now)
	body.Redirects = s.shareRedirects(rows)
	body.count(rows)
	body.Rows = filterRows(rows, q)
	sortRows(body.Rows, q.Sort, q.Desc)
	for _, f := range filters() {
		body.Filters = append(body.Filters, option{Value: f[0], Label: f[1], Selected: f[0] == q.Filter})
	}
	s.render(w, r, http.StatusOK, s.pages.index, "Mirror network status", body)
}

// rows describes every mirror of the registry, in registry order.
func (s *server) rows(cfg *config.Config, latest []store.MirrorResult, origin *originView, now time.Time) []mirrorRow {
	byName := make(map[string]*store.MirrorResult, len(latest))
	for i := range latest {
		byName[latest[i].Mirror] = &latest[i]
	}
	var originN int64 = -1
	if origin != nil {
		originN = origin.Records
	}
	rows := make([]mirrorRow, 0, len(cfg.Mirrors))
	for _, m := range cfg.Mirrors {
		rows = append(rows, newRow(s.opts.Base, m, byName[m.Name], originN, now, cfg.Check.TLSWarn))
	}
	return rows
}

// shareRedirects fills in each mirror's redirects and share of them, and
// reports whether the hub counts them at all.
func (s *server) shareRedirects(rows []mirrorRow) bool {
	var total int64
	known := false
	for i := range rows {
		n, ok := s.src.Redirects(rows[i].Name)
		if ok && n >= 0 {
			rows[i].Redirects, rows[i].HasRedirects = n, true
			total += n
			known = true
		}
	}
	for i := range rows {
		if rows[i].HasRedirects && total > 0 {
			rows[i].Share = float64(rows[i].Redirects) / float64(total)
		}
	}
	return known
}

func (b *indexBody) count(rows []mirrorRow) {
	b.Total = len(rows)
	for _, r := range rows {
		switch {
		case r.State == stateHealthy:
			b.Healthy++
		case r.State.Bad():
			b.Bad++
		}
		if r.State.Alert() {
			b.Alerts = append(b.Alerts, r)
		}
	}
}

// filterRows returns the rows q selects.
func filterRows(rows []mirrorRow, q listQuery) []mirrorRow {
	var out []mirrorRow
	needle := strings.ToLower(q.Q)
	for _, r := range rows {
		switch {
		case q.Filter == "problems" && !r.State.Bad():
		case q.Filter == "healthy" && r.State != stateHealthy:
		case needle != "" && !strings.Contains(r.Name, needle) && strings.ToLower(r.Country) != needle:
		default:
			out = append(out, r)
		}
	}
	return out
}

// A sortKey is a row's value in one column; rows without a value sort
// last whichever the direction.
type sortKey struct {
	known bool
	num   float64
	str   string
}

func keyOf(r *mirrorRow, key string) sortKey {
	switch key {
	case "name":
		return sortKey{known: true, str: r.Name}
	case "state":
		return sortKey{known: true, num: float64(r.State)}
	case "checkpoint":
		return sortKey{known: r.HasRecords, num: float64(r.Records)}
	case "lag":
		return sortKey{known: r.HasLag, num: r.Lag.Seconds()}
	case "complete":
		return sortKey{known: r.HasComplete, num: r.Complete}
	case "problems":
		return sortKey{known: true, num: float64(r.Total)}
	case "tls":
		return sortKey{known: !r.TLSExpiry.IsZero(), num: float64(r.TLSExpiry.Unix())}
	case "country":
		return sortKey{known: r.Country != "", str: r.Country}
	case "weight":
		return sortKey{known: true, num: float64(r.Weight)}
	case "redirects":
		return sortKey{known: r.HasRedirects, num: float64(r.Redirects)}
	}
	return sortKey{}
}

// sortRows sorts by key, then by state and name.
func sortRows(rows []mirrorRow, key string, desc bool) {
	slices.SortStableFunc(rows, func(a, b mirrorRow) int {
		ka, kb := keyOf(&a, key), keyOf(&b, key)
		if ka.known != kb.known {
			if ka.known {
				return -1
			}
			return 1
		}
		c := cmp.Or(cmp.Compare(ka.num, kb.num), cmp.Compare(ka.str, kb.str))
		if desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.State, b.State), cmp.Compare(a.Name, b.Name))
	})
}
