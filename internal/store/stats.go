package store

import (
	"fmt"
	"sort"
	"time"
)

// Download statistics.
//
// Counts are kept per day (UTC), object path, mirror, country and source,
// and only ever added to. They arrive in batches: a mirror reports what its
// web server's log says it served (source "mirror"), the hub what its
// redirector sent to each mirror (source "hub"). A batch carries an ID
// chosen by its reporter; a batch whose reporter and ID were added before
// adds nothing, so a reporter that is unsure whether a batch arrived sends
// it again. A batch from a mirror also marks each of its days as reported
// by that mirror, whatever the counts.
//
// The store keeps the facts; which of them make up a total (never counting
// one download twice) is decided by package stats.

// A StatSource says who counted a download.
type StatSource string

// The sources of counts.
const (
	StatsFromMirror StatSource = "mirror" // a mirror's own log
	StatsFromHub    StatSource = "hub"    // a redirect answered by the hub
)

// Limits on statistics a store accepts.
const (
	MaxStatCounts    = 100_000 // counts in one batch
	MaxStatDownloads = 1 << 40 // downloads in one count
	maxBatchIDLen    = 128     // bytes in a batch ID
	maxCountryLen    = 8       // bytes in a country code
)

// StatsDayLayout is the layout of a day in a count: "2006-01-02", UTC.
const StatsDayLayout = time.DateOnly

// A StatBatch is one delivery of counts.
type StatBatch struct {
	Source   StatSource
	Reporter string    // the reporting mirror (StatsFromMirror) or hub
	ID       string    // unique per Source and Reporter: [A-Za-z0-9._:-], 1 to 128 bytes
	Received time.Time // when it arrived
	Counts   []StatCount
}

// A StatCount is a number of downloads of one object on one day.
type StatCount struct {
	Day     string // StatsDayLayout
	Path    string // the object's path in the tree
	Mirror  string // the mirror that served it; "" for the hub's fallback host
	Country string // the client's country (ISO 3166-1 alpha-2), "" if unknown
	// Downloads is at least 1.
	Downloads int64
}

// A StatRow is a count as kept: the sum of every count added with the same
// day, path, mirror, country and source.
type StatRow struct {
	StatCount
	Source StatSource
}

// A StatsQuery selects counts.
type StatsQuery struct {
	From, To string // first and last day, inclusive (StatsDayLayout)
	Path     string // only this object; "" for all
	Limit    int    // at most this many rows; <= 0 for no limit
}

// A MirrorDay is a day a mirror reported counts for.
type MirrorDay struct {
	Mirror string
	Day    string
}

// StatsResult is what QueryStats found.
type StatsResult struct {
	Rows      []StatRow   // ordered by day, path, mirror, country, source
	Truncated bool        // there were more rows than the query's Limit
	Reported  []MirrorDay // every mirror and day in the range reported by that mirror (whatever the path), ordered
}

// statKey identifies a kept count.
type statKey struct {
	day, path, mirror, country string
	source                     StatSource
}

func (r StatRow) key() statKey {
	return statKey{r.Day, r.Path, r.Mirror, r.Country, r.Source}
}

// prepareStats validates a batch and returns its counts as rows, counts
// with the same key summed, ordered.
func prepareStats(b StatBatch) ([]StatRow, error) {
	if err := checkBatchHeader(b); err != nil {
		return nil, err
	}
	sums := map[statKey]int64{}
	for i, c := range b.Counts {
		if b.Source == StatsFromMirror {
			if c.Mirror != "" && c.Mirror != b.Reporter {
				return nil, fmt.Errorf("stats batch %q: count %d: mirror %q in a batch from mirror %q", b.ID, i, c.Mirror, b.Reporter)
			}
			c.Mirror = b.Reporter
		}
		if err := checkStatCount(c); err != nil {
			return nil, fmt.Errorf("stats batch %q: count %d: %w", b.ID, i, err)
		}
		k := StatRow{StatCount: c, Source: b.Source}.key()
		sums[k] += c.Downloads
		if sums[k] > MaxStatDownloads {
			return nil, fmt.Errorf("stats batch %q: count %d: more than %d downloads", b.ID, i, int64(MaxStatDownloads))
		}
	}
	rows := make([]StatRow, 0, len(sums))
	for k, n := range sums {
		rows = append(rows, StatRow{StatCount{k.day, k.path, k.mirror, k.country, n}, k.source})
	}
	sortStatRows(rows)
	return rows, nil
}

func checkBatchHeader(b StatBatch) error {
	switch {
	case b.Source != StatsFromMirror && b.Source != StatsFromHub:
		return fmt.Errorf("stats batch %q: unknown source %q", b.ID, b.Source)
	case b.Reporter == "" || len(b.Reporter) > maxNameLen:
		return fmt.Errorf("stats batch %q: reporter %.64q: must be 1 to %d bytes", b.ID, b.Reporter, maxNameLen)
	case !validBatchID(b.ID):
		return fmt.Errorf("stats batch ID %.64q: want 1 to %d bytes of letters, digits and . _ : -", b.ID, maxBatchIDLen)
	case b.Received.IsZero():
		return fmt.Errorf("stats batch %q: received time missing", b.ID)
	case len(b.Counts) > MaxStatCounts:
		return fmt.Errorf("stats batch %q: %d counts, more than %d", b.ID, len(b.Counts), MaxStatCounts)
	}
	return nil
}

func validBatchID(id string) bool {
	if id == "" || len(id) > maxBatchIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func checkStatCount(c StatCount) error {
	if err := checkDay(c.Day); err != nil {
		return err
	}
	switch {
	case c.Path == "" || len(c.Path) > maxTextLen:
		return fmt.Errorf("path %.64q: must be 1 to %d bytes", c.Path, maxTextLen)
	case len(c.Mirror) > maxNameLen:
		return fmt.Errorf("mirror %.64q: longer than %d bytes", c.Mirror, maxNameLen)
	case len(c.Country) > maxCountryLen:
		return fmt.Errorf("country %.16q: longer than %d bytes", c.Country, maxCountryLen)
	case c.Downloads < 1 || c.Downloads > MaxStatDownloads:
		return fmt.Errorf("downloads %d: want 1 to %d", c.Downloads, int64(MaxStatDownloads))
	}
	return nil
}

// checkDay reports whether day is a date in StatsDayLayout, written the
// one way that layout writes it.
func checkDay(day string) error {
	t, err := time.Parse(StatsDayLayout, day)
	if err != nil || t.Format(StatsDayLayout) != day {
		return fmt.Errorf("day %.32q: want YYYY-MM-DD", day)
	}
	return nil
}

func checkStatsQuery(q StatsQuery) error {
	if err := checkDay(q.From); err != nil {
		return fmt.Errorf("stats query: from: %w", err)
	}
	if err := checkDay(q.To); err != nil {
		return fmt.Errorf("stats query: to: %w", err)
	}
	if len(q.Path) > maxTextLen {
		return fmt.Errorf("stats query: path longer than %d bytes", maxTextLen)
	}
	return nil
}

func sortStatRows(rows []StatRow) {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case a.Day != b.Day:
			return a.Day < b.Day
		case a.Path != b.Path:
			return a.Path < b.Path
		case a.Mirror != b.Mirror:
			return a.Mirror < b.Mirror
		case a.Country != b.Country:
			return a.Country < b.Country
		}
		return a.Source < b.Source
	})
}

// reportedDays returns the mirror and days a prepared batch marks reported.
func reportedDays(b StatBatch, rows []StatRow) []MirrorDay {
	if b.Source != StatsFromMirror {
		return nil
	}
	seen := map[string]bool{}
	var out []MirrorDay
	for _, r := range rows {
		if !seen[r.Day] {
			seen[r.Day] = true
			out = append(out, MirrorDay{b.Reporter, r.Day})
		}
	}
	return out
}
