package status

import (
	"cmp"
	"net/url"
	"slices"
	"time"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/store"
)

// A state sums up a mirror in one word. The order is the order of concern:
// the default sort shows the worst first.
type state int

const (
	stateTampered  state = iota // serves a file with the wrong content
	stateUntrusted              // serves a forked, rolled back or badly signed log
	stateDown                   // no access point answers
	stateStale                  // serves an old checkpoint
	stateProblems               // some access point is not serving the current state correctly
	stateWarning                // serving correctly, with a warning such as an expiring certificate
	stateUnchecked              // no result yet
	stateDisabled               // weight 0: no downloads are sent to it, and it is not checked
	stateHealthy                // every access point serves the current state correctly
)

// Name is the state's identifier, used in class names and filters.
func (s state) Name() string {
	switch s {
	case stateTampered:
		return "tampered"
	case stateUntrusted:
		return "untrusted"
	case stateDown:
		return "down"
	case stateStale:
		return "stale"
	case stateProblems:
		return "problems"
	case stateWarning:
		return "warning"
	case stateUnchecked:
		return "unchecked"
	case stateDisabled:
		return "disabled"
	}
	return "healthy"
}

// Label is what a person reads.
func (s state) Label() string {
	switch s {
	case stateTampered:
		return "Tampered"
	case stateUntrusted:
		return "Untrusted log"
	case stateDown:
		return "Down"
	case stateStale:
		return "Stale"
	case stateProblems:
		return "Problems"
	case stateWarning:
		return "Warning"
	case stateUnchecked:
		return "Not checked yet"
	case stateDisabled:
		return "Disabled"
	}
	return "Healthy"
}

// Alert reports whether the state means the mirror serves bytes or a log
// other than the origin's: shown in red, first.
func (s state) Alert() bool { return s == stateTampered || s == stateUntrusted }

// Bad reports whether the state needs an operator's attention.
func (s state) Bad() bool { return s <= stateWarning }

// Icon names the symbol drawn beside the state's label.
func (s state) Icon() string {
	switch {
	case s.Alert():
		return "alert"
	case s == stateDown:
		return "down"
	case s == stateHealthy:
		return "ok"
	case s.Bad():
		return "warn"
	}
	return "none"
}

// severity ranks problem kinds: tampering first, then a log that is not
// the origin's, then everything else, then warnings.
func severity(k store.ProblemKind) int {
	switch k {
	case store.Hash:
		return 0
	case store.Fork, store.Rollback, store.BadSignature:
		return 1
	case store.TLS:
		return 3
	}
	return 2
}

// severityClass is the CSS class of a problem kind.
func severityClass(k store.ProblemKind) string {
	switch severity(k) {
	case 0, 1:
		return "critical"
	case 3:
		return "minor"
	}
	return "major"
}

// problemLabel names a kind of problem for a person.
func problemLabel(k store.ProblemKind) string {
	switch k {
	case store.Hash:
		return "tampered (wrong content)"
	case store.Fork:
		return "forked log"
	case store.Rollback:
		return "rolled back log"
	case store.BadSignature:
		return "bad signature"
	case store.Missing:
		return "missing"
	case store.Size:
		return "wrong size"
	case store.Extra:
		return "extra file"
	case store.Stale:
		return "stale"
	case store.Unreachable:
		return "unreachable"
	case store.TLS:
		return "certificate"
	case store.Timeout:
		return "timeout"
	case store.Frozen:
		return "frozen checkpoint"
	}
	return string(k)
}

// sortProblems orders problems by severity, then access, kind and path.
func sortProblems(ps []store.Problem) {
	slices.SortStableFunc(ps, func(a, b store.Problem) int {
		return cmp.Or(cmp.Compare(severity(a.Kind), severity(b.Kind)),
			cmp.Compare(a.Access, b.Access), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Path, b.Path))
	})
}

// A mirrorRow is one mirror as the overview shows it. Mirror-wide values
// are the worst of its access points: the fewest records, the longest
// lag, the lowest completeness and the earliest certificate expiry.
type mirrorRow struct {
	Name     string
	URL      string // its page
	Country  string
	Weight   int
	State    state
	Checked  time.Time
	Access   []accessCell
	Problems []problemCount
	Total    int // problems

	Records, OriginRecords int64
	HasRecords             bool
	Lag                    time.Duration
	HasLag                 bool
	Complete               float64
	HasComplete            bool
	TLSExpiry              time.Time
	TLS                    string // "", "ok", "soon" or "expired"

	Redirects    int64
	Share        float64
	HasRedirects bool
}

// An accessCell is one access point's up or down.
type accessCell struct {
	Kind   string
	Status string // "up", "down" or "unchecked"
	OK     bool
	Detail string
}

// A problemCount is how many problems of one kind a mirror has.
type problemCount struct {
	Kind  store.ProblemKind
	Label string
	Class string
	Count int
}

// newRow describes mirror m from its latest result res (nil if none).
func newRow(base string, m config.Mirror, res *store.MirrorResult, originN int64, now time.Time, tlsWarn time.Duration) mirrorRow {
	row := mirrorRow{Name: m.Name, URL: mirrorURL(base, m.Name), Country: m.Country, Weight: m.Weight, OriginRecords: originN}
	var results []store.AccessResult
	if res != nil {
		row.Checked, results = res.Checked, res.Access
		row.Problems, row.Total = countProblems(res.Problems)
	}
	row.Access = accessCells(m, results)
	row.summarize(results, now, tlsWarn)
	row.State = classify(m, res, row)
	return row
}

func mirrorURL(base, name string) string { return base + "mirrors/" + url.PathEscape(name) }

// accessCells lists m's access points as configured, each with its result.
func accessCells(m config.Mirror, results []store.AccessResult) []accessCell {
	var cells []accessCell
	for _, ap := range m.Access() {
		c := accessCell{Kind: string(ap.Kind), Status: "unchecked"}
		for _, a := range results {
			if a.Access == string(ap.Kind) {
				c.Status, c.OK, c.Detail = "down", a.OK, a.Detail
				if a.Reachable {
					c.Status = "up"
				}
			}
		}
		cells = append(cells, c)
	}
	return cells
}

// summarize sets the mirror-wide values from the access results.
func (row *mirrorRow) summarize(results []store.AccessResult, now time.Time, tlsWarn time.Duration) {
	for _, a := range results {
		if a.Records != nil && (!row.HasRecords || *a.Records < row.Records) {
			row.Records, row.HasRecords = *a.Records, true
		}
		if !a.TLSExpiry.IsZero() && (row.TLSExpiry.IsZero() || a.TLSExpiry.Before(row.TLSExpiry)) {
			row.TLSExpiry = a.TLSExpiry
		}
		if !a.Reachable {
			continue
		}
		if !row.HasLag || a.Lag > row.Lag {
			row.Lag, row.HasLag = a.Lag, true
		}
		if !row.HasComplete || a.Complete < row.Complete {
			row.Complete, row.HasComplete = a.Complete, true
		}
	}
	switch {
	case row.TLSExpiry.IsZero():
	case !row.TLSExpiry.After(now):
		row.TLS = "expired"
	case row.TLSExpiry.Sub(now) < tlsWarn:
		row.TLS = "soon"
	default:
		row.TLS = "ok"
	}
}

// countProblems counts problems by kind, the most severe first.
func countProblems(ps []store.Problem) ([]problemCount, int) {
	return problemCounts(store.CountProblems(ps)), len(ps)
}

// problemCounts lists counts by kind, the most severe first.
func problemCounts(counts map[store.ProblemKind]int) []problemCount {
	var out []problemCount
	for kind, n := range counts {
		out = append(out, problemCount{Kind: kind, Label: problemLabel(kind), Class: severityClass(kind), Count: n})
	}
	slices.SortFunc(out, func(a, b problemCount) int {
		return cmp.Or(cmp.Compare(severity(a.Kind), severity(b.Kind)), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// classify sums a mirror up in one state.
func classify(m config.Mirror, res *store.MirrorResult, row mirrorRow) state {
	if res == nil {
		if !m.Enabled() {
			return stateDisabled
		}
		return stateUnchecked
	}
	has := func(kinds ...store.ProblemKind) bool {
		return slices.ContainsFunc(res.Problems, func(p store.Problem) bool { return slices.Contains(kinds, p.Kind) })
	}
	switch {
	case has(store.Hash):
		return stateTampered
	case has(store.Fork, store.Rollback, store.BadSignature):
		return stateUntrusted
	case !m.Enabled():
		return stateDisabled
	case row.count("down") > 0 && row.count("up") == 0:
		return stateDown
	case has(store.Stale):
		return stateStale
	case slices.ContainsFunc(row.Access, func(c accessCell) bool { return !c.OK && c.Status != "unchecked" }),
		slices.ContainsFunc(res.Problems, func(p store.Problem) bool { return p.Kind != store.TLS }):
		return stateProblems
	case row.Total > 0 || row.TLS == "soon" || row.TLS == "expired":
		return stateWarning
	}
	return stateHealthy
}

// count returns how many of the row's access points have the status.
func (row *mirrorRow) count(status string) int {
	n := 0
	for _, c := range row.Access {
		if c.Status == status {
			n++
		}
	}
	return n
}
