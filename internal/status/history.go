package status

import (
	"maps"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

// maxPeriods bounds the problem history a mirror page lists.
const maxPeriods = 50

// A problemPeriod is a run of consecutive checks of a mirror that found the
// same problems: as many of each kind.
type problemPeriod struct {
	From    time.Time // the first check of the run
	Until   time.Time // the check that found them changed; zero while Ongoing
	Ongoing bool      // the run reaches the latest check
	Checks  int
	// Problems and Checked are what the "problems" template shows.
	Problems []problemCount
	Checked  time.Time
}

// problemHistory sums a mirror's history (oldest first) up in periods of
// unchanged problems, the newest first, at most maxPeriods of them, and
// says whether older ones were left out.
func problemHistory(hist []store.MirrorResult) (periods []problemPeriod, more bool) {
	var counts map[store.ProblemKind]int
	for i, r := range hist {
		if i > 0 && maps.Equal(r.ProblemCounts, counts) {
			periods[len(periods)-1].Checks++
			continue
		}
		if i > 0 {
			periods[len(periods)-1].Until = r.Checked
		}
		counts = r.ProblemCounts
		periods = append(periods, problemPeriod{From: r.Checked, Checked: r.Checked, Checks: 1,
			Problems: problemCounts(counts)})
	}
	if len(periods) > 0 {
		periods[len(periods)-1].Ongoing = true
	}
	more = len(periods) > maxPeriods
	periods = periods[max(len(periods)-maxPeriods, 0):]
	for i, j := 0, len(periods)-1; i < j; i, j = i+1, j-1 {
		periods[i], periods[j] = periods[j], periods[i]
	}
	return periods, more
}
