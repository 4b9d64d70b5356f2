package status

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/store"
)

// Limits on what one mirror page lists.
const (
	maxProblems = 200 // current problems listed; the rest are counted
	maxChecks   = 20  // recent checks listed
)

// mirrorBody is the data of a mirror's page.
type mirrorBody struct {
	Row       mirrorRow
	Contact   string
	Notes     string
	Continent string
	Enabled   bool
	Access    []accessDetail
	Problems  []problemView
	More      int // problems not listed
	History   []problemPeriod
	Older     bool // periods of the history not listed
	Charts    []chartView
	Traffic   *chartView
	Stats     string // why there is no traffic chart
	Checks    []checkRow
	Since     time.Time
}

// An accessDetail is one access point of a mirror and its latest result.
type accessDetail struct {
	Kind, URL string
	Checked   bool
	store.AccessResult
}

// A problemView is one current problem.
type problemView struct {
	store.Problem
	Label, Class string
	PathURL      string // the object's page, if the problem names one
}

// A checkRow is one past check of a mirror.
type checkRow struct {
	Checked time.Time
	Access  []store.AccessResult
}

func (s *server) mirror(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	cfg, now := s.src.Config(), s.opts.Now()
	m, ok := cfg.Mirror(name)
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "No such mirror",
			"There is no mirror named “"+name+"” in the hub's registry.")
		return
	}
	latest, err := s.src.Store().LatestResults(ctx)
	if err != nil {
		s.failed(w, r, err)
		return
	}
	since := now.Add(-s.opts.History)
	hist, err := s.src.Store().MirrorHistory(ctx, name, since)
	if err != nil {
		s.failed(w, r, err)
		return
	}
	var res *store.MirrorResult
	if i := slices.IndexFunc(latest, func(x store.MirrorResult) bool { return x.Mirror == name }); i >= 0 {
		res = &latest[i]
	}
	origin := newOriginView(cfg, s.src.Origin(), now)
	var originN int64 = -1
	if origin != nil {
		originN = origin.Records
	}
	body := mirrorBody{Row: newRow(s.opts.Base, m, res, originN, now, cfg.Check.TLSWarn),
		Contact: m.Contact, Notes: m.Notes, Continent: m.Continent, Enabled: m.Enabled(), Since: since}
	if n, ok := s.src.Redirects(name); ok {
		body.Row.Redirects, body.Row.HasRedirects = n, true
	}
	body.Access = accessDetails(m, res)
	body.Problems, body.More = s.problemViews(res)
	body.History, body.Older = problemHistory(hist)
	body.Charts = historyCharts(m, hist, since, now)
	body.Checks = recentChecks(hist)
	body.Traffic, body.Stats = s.traffic(ctx, DownloadQuery{Mirror: name}, "Downloads from "+name, since, now)
	s.render(w, r, http.StatusOK, s.pages.mirror, "Mirror "+name, body)
}

// accessDetails lists m's access points with their latest results.
func accessDetails(m config.Mirror, res *store.MirrorResult) []accessDetail {
	var out []accessDetail
	for _, ap := range m.Access() {
		d := accessDetail{Kind: string(ap.Kind), URL: ap.URL}
		if res != nil {
			if i := slices.IndexFunc(res.Access, func(a store.AccessResult) bool { return a.Access == d.Kind }); i >= 0 {
				d.AccessResult, d.Checked = res.Access[i], true
			}
		}
		out = append(out, d)
	}
	return out
}

// problemViews lists a result's problems, the most severe first, at most
// maxProblems of them, and how many more there are.
func (s *server) problemViews(res *store.MirrorResult) ([]problemView, int) {
	if res == nil {
		return nil, 0
	}
	ps := slices.Clone(res.Problems)
	sortProblems(ps)
	more := max(len(ps)-maxProblems, 0)
	ps = ps[:len(ps)-more]
	out := make([]problemView, 0, len(ps))
	for _, p := range ps {
		v := problemView{Problem: p, Label: problemLabel(p.Kind), Class: severityClass(p.Kind)}
		if p.Path != "" && (p.Kind == store.Hash || p.Kind == store.Missing || p.Kind == store.Size) {
			v.PathURL = objectURL(s.opts.Base, p.Path)
		}
		out = append(out, v)
	}
	return out, more
}

// historyCharts draws lag and completeness over time, one line per access
// point; an unreachable access point leaves a gap.
func historyCharts(m config.Mirror, hist []store.MirrorResult, since, now time.Time) []chartView {
	var lags, completes []line
	var longest time.Duration
	for _, ap := range m.Access() {
		lag, complete := line{Name: string(ap.Kind)}, line{Name: string(ap.Kind)}
		for _, res := range hist {
			a, ok := findAccess(res.Access, string(ap.Kind))
			lag.Samples = append(lag.Samples, sample{T: res.Checked, V: a.Lag.Seconds(), Valid: ok && a.Reachable})
			complete.Samples = append(complete.Samples, sample{T: res.Checked, V: a.Complete, Valid: ok && a.Reachable})
			if ok && a.Reachable {
				longest = max(longest, a.Lag)
			}
		}
		lags, completes = append(lags, lag), append(completes, complete)
	}
	return []chartView{
		lineChart("lag", "Lag", since, now, lagScale(longest), lags),
		lineChart("complete", "Completeness", since, now, completeScale(), completes),
	}
}

func findAccess(as []store.AccessResult, kind string) (store.AccessResult, bool) {
	for _, a := range as {
		if a.Access == kind {
			return a, true
		}
	}
	return store.AccessResult{}, false
}

// recentChecks lists the latest checks, newest first.
func recentChecks(hist []store.MirrorResult) []checkRow {
	var out []checkRow
	for i := len(hist) - 1; i >= 0 && len(out) < maxChecks; i-- {
		out = append(out, checkRow{Checked: hist[i].Checked, Access: hist[i].Access})
	}
	return out
}

// traffic draws daily downloads, or says why it cannot.
func (s *server) traffic(ctx context.Context, q DownloadQuery, title string, since, now time.Time) (*chartView, string) {
	q.From, q.To = dayOf(since), dayOf(now)
	days, err := s.src.Downloads(ctx, q)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("status page: download statistics", "mirror", q.Mirror, "path", q.Path, "err", err)
		}
		return nil, "The hub could not read its download statistics; the error is in its log."
	}
	if days == nil {
		return nil, "This hub does not collect download statistics."
	}
	c := barChart("traffic", title, q.From, q.To, days)
	return &c, ""
}
