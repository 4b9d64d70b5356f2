package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pando-mirror/pando/internal/store"
)

// RunStats runs the download statistics part of the suite; every
// implementation runs it beside Run. open is as for Run.
func RunStats(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Empty", testStatsEmpty},
		{"AddAndQuery", testStatsAddAndQuery},
		{"Duplicate", testStatsDuplicate},
		{"Invalid", testStatsInvalid},
		{"Limit", testStatsLimit},
		{"Concurrent", testStatsConcurrent},
		{"Canceled", testStatsCanceled},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func mirrorBatch(mirror, id string, counts ...store.StatCount) store.StatBatch {
	return store.StatBatch{Source: store.StatsFromMirror, Reporter: mirror, ID: id, Received: t0, Counts: counts}
}

func hubBatch(id string, counts ...store.StatCount) store.StatBatch {
	return store.StatBatch{Source: store.StatsFromHub, Reporter: "hub", ID: id, Received: t0, Counts: counts}
}

func count(day, path, mirror, country string, n int64) store.StatCount {
	return store.StatCount{Day: day, Path: path, Mirror: mirror, Country: country, Downloads: n}
}

func md(mirror, day string) store.MirrorDay { return store.MirrorDay{Mirror: mirror, Day: day} }

func row(day, path, mirror, country string, src store.StatSource, n int64) store.StatRow {
	return store.StatRow{StatCount: count(day, path, mirror, country, n), Source: src}
}

func addStats(t *testing.T, s store.Store, b store.StatBatch) (duplicate bool) {
	t.Helper()
	dup, err := s.AddStats(context.Background(), b)
	if err != nil {
		t.Fatalf("AddStats(%s %s %s): %v", b.Source, b.Reporter, b.ID, err)
	}
	return dup
}

func queryStats(t *testing.T, s store.Store, q store.StatsQuery) store.StatsResult {
	t.Helper()
	res, err := s.QueryStats(context.Background(), q)
	if err != nil {
		t.Fatalf("QueryStats(%+v): %v", q, err)
	}
	return res
}

func sameStats(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.Len() == 0 && w.Len() == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

var allDays = store.StatsQuery{From: "2000-01-01", To: "2999-12-31"}

func testStatsEmpty(t *testing.T, s store.Store) {
	res := queryStats(t, s, allDays)
	if len(res.Rows) != 0 || len(res.Reported) != 0 || res.Truncated {
		t.Errorf("an empty store has stats: %+v", res)
	}
}

func testStatsAddAndQuery(t *testing.T, s store.Store) {
	const d1, d2, d3 = "2025-02-28", "2025-03-01", "2025-03-02"
	if addStats(t, s, mirrorBatch("m1", "b1",
		count(d1, "a.iso", "", "", 3),
		count(d2, "a.iso", "m1", "DE", 2),
		count(d2, "a.iso", "", "DE", 5), // same key as the one before: summed
	)) {
		t.Fatal("a new batch is a duplicate")
	}
	addStats(t, s, mirrorBatch("m1", "b2", count(d2, "b.iso", "", "", 1)))
	addStats(t, s, hubBatch("h1", count(d2, "a.iso", "m1", "FR", 4), count(d2, "a.iso", "", "", 6),
		count(d3, "a.iso", "m2", "FR", 1)))
	addStats(t, s, mirrorBatch("m2", "b1", count(d3, "c.iso", "", "", 9)))
	addStats(t, s, mirrorBatch("m3", "empty")) // no counts: no days reported

	res := queryStats(t, s, allDays)
	sameStats(t, "all rows", res.Rows, []store.StatRow{
		row(d1, "a.iso", "m1", "", store.StatsFromMirror, 3),
		row(d2, "a.iso", "", "", store.StatsFromHub, 6),
		row(d2, "a.iso", "m1", "DE", store.StatsFromMirror, 7),
		row(d2, "a.iso", "m1", "FR", store.StatsFromHub, 4),
		row(d2, "b.iso", "m1", "", store.StatsFromMirror, 1),
		row(d3, "a.iso", "m2", "FR", store.StatsFromHub, 1),
		row(d3, "c.iso", "m2", "", store.StatsFromMirror, 9),
	})
	sameStats(t, "reported", res.Reported, []store.MirrorDay{md("m1", d1), md("m1", d2), md("m2", d3)})

	res = queryStats(t, s, store.StatsQuery{From: d2, To: d2, Path: "a.iso"})
	sameStats(t, "a.iso on "+d2, res.Rows, []store.StatRow{
		row(d2, "a.iso", "", "", store.StatsFromHub, 6),
		row(d2, "a.iso", "m1", "DE", store.StatsFromMirror, 7),
		row(d2, "a.iso", "m1", "FR", store.StatsFromHub, 4),
	})
	// Reported days do not depend on the path asked for.
	sameStats(t, "reported on "+d2, res.Reported, []store.MirrorDay{md("m1", d2)})

	res = queryStats(t, s, store.StatsQuery{From: d3, To: "2025-12-31", Path: "b.iso"})
	sameStats(t, "b.iso from "+d3, res.Rows, []store.StatRow(nil))
	sameStats(t, "reported from "+d3, res.Reported, []store.MirrorDay{md("m2", d3)})

	// Rows handed out are copies.
	res = queryStats(t, s, allDays)
	res.Rows[0].Downloads = 1000
	if got := queryStats(t, s, allDays).Rows[0].Downloads; got != 3 {
		t.Errorf("changing a returned row changed the store: %d", got)
	}
}

func testStatsDuplicate(t *testing.T, s store.Store) {
	const d = "2025-03-01"
	b := mirrorBatch("m1", "batch-1", count(d, "a.iso", "", "", 2))
	addStats(t, s, b)
	for i, again := range []store.StatBatch{
		b,
		mirrorBatch("m1", "batch-1", count(d, "a.iso", "", "", 50)), // the ID decides, not the content
		mirrorBatch("m1", "batch-1", count("2025-03-02", "z.iso", "", "", 1)),
	} {
		if !addStats(t, s, again) {
			t.Errorf("batch %d sent again is not a duplicate", i)
		}
	}
	// The same ID from another reporter or source is another batch.
	for _, other := range []store.StatBatch{
		mirrorBatch("m2", "batch-1", count(d, "a.iso", "", "", 1)),
		hubBatch("batch-1", count(d, "a.iso", "m1", "", 1)),
	} {
		if addStats(t, s, other) {
			t.Errorf("batch %s from %s %s is taken for a duplicate", other.ID, other.Source, other.Reporter)
		}
	}
	sameStats(t, "rows", queryStats(t, s, allDays).Rows, []store.StatRow{
		row(d, "a.iso", "m1", "", store.StatsFromHub, 1),
		row(d, "a.iso", "m1", "", store.StatsFromMirror, 2),
		row(d, "a.iso", "m2", "", store.StatsFromMirror, 1),
	})
}

func testStatsInvalid(t *testing.T, s store.Store) {
	const d = "2025-03-01"
	good := count(d, "a.iso", "", "", 1)
	many := make([]store.StatCount, store.MaxStatCounts+1)
	for i := range many {
		many[i] = count(d, fmt.Sprintf("f%d", i), "", "", 1)
	}
	for _, tt := range []struct {
		name string
		b    store.StatBatch
	}{
		{"unknown source", store.StatBatch{Source: "elsewhere", Reporter: "m1", ID: "x", Received: t0, Counts: []store.StatCount{good}}},
		{"no reporter", mirrorBatch("", "x", good)},
		{"no ID", mirrorBatch("m1", "", good)},
		{"ID with a space", mirrorBatch("m1", "a b", good)},
		{"ID too long", mirrorBatch("m1", strings.Repeat("a", 129), good)},
		{"no received time", store.StatBatch{Source: store.StatsFromMirror, Reporter: "m1", ID: "x", Counts: []store.StatCount{good}}},
		{"bad day", mirrorBatch("m1", "x", good, count("2025-3-1", "a.iso", "", "", 1))},
		{"no such day", mirrorBatch("m1", "x", good, count("2025-02-30", "a.iso", "", "", 1))},
		{"no path", mirrorBatch("m1", "x", good, count(d, "", "", "", 1))},
		{"path too long", mirrorBatch("m1", "x", good, count(d, strings.Repeat("p", 4097), "", "", 1))},
		{"no downloads", mirrorBatch("m1", "x", good, count(d, "b.iso", "", "", 0))},
		{"negative downloads", mirrorBatch("m1", "x", good, count(d, "b.iso", "", "", -1))},
		{"too many downloads", mirrorBatch("m1", "x", good, count(d, "b.iso", "", "", store.MaxStatDownloads+1))},
		{"sum too large", mirrorBatch("m1", "x", count(d, "b.iso", "", "", store.MaxStatDownloads), count(d, "b.iso", "", "", 1))},
		{"another mirror's count", mirrorBatch("m1", "x", good, count(d, "b.iso", "m2", "", 1))},
		{"country too long", mirrorBatch("m1", "x", good, count(d, "b.iso", "", "GERMANY!!", 1))},
		{"too many counts", mirrorBatch("m1", "x", many...)},
	} {
		if dup, err := s.AddStats(context.Background(), tt.b); err == nil {
			t.Errorf("%s: AddStats succeeded (duplicate %v)", tt.name, dup)
		}
	}
	if res := queryStats(t, s, allDays); len(res.Rows) != 0 || len(res.Reported) != 0 {
		t.Errorf("invalid batches left stats: %+v", res)
	}
	// Nothing of a refused batch was kept, not even its ID.
	if addStats(t, s, mirrorBatch("m1", "x", good)) {
		t.Error("a refused batch's ID was kept")
	}
	for _, q := range []store.StatsQuery{{From: "", To: d}, {From: d, To: "tomorrow"}, {From: d, To: d, Path: strings.Repeat("p", 4097)}} {
		if _, err := s.QueryStats(context.Background(), q); err == nil {
			t.Errorf("QueryStats(%+v) succeeded", q)
		}
	}
}

func testStatsLimit(t *testing.T, s store.Store) {
	var cs []store.StatCount
	for i := range 10 {
		cs = append(cs, count("2025-03-01", fmt.Sprintf("f%02d", i), "", "", int64(i+1)))
	}
	addStats(t, s, mirrorBatch("m1", "b", cs...))
	q := allDays
	q.Limit = 4
	res := queryStats(t, s, q)
	if len(res.Rows) != 4 || !res.Truncated || res.Rows[3].Path != "f03" {
		t.Errorf("limit 4: %d rows, truncated %v, last %+v", len(res.Rows), res.Truncated, res.Rows[len(res.Rows)-1])
	}
	q.Limit = 10
	if res := queryStats(t, s, q); len(res.Rows) != 10 || res.Truncated {
		t.Errorf("limit 10 of 10: %d rows, truncated %v", len(res.Rows), res.Truncated)
	}
}

// testStatsConcurrent adds the same batch from many goroutines, and many
// different batches: each batch is counted exactly once.
func testStatsConcurrent(t *testing.T, s store.Store) {
	const d = "2025-03-01"
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for i := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			dup, err := s.AddStats(context.Background(), mirrorBatch("m1", "same", count(d, "a.iso", "", "", 1)))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !dup {
				fresh++
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.AddStats(context.Background(), hubBatch(fmt.Sprintf("h%d", i), count(d, "a.iso", "m1", "", 2))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if fresh != 1 {
		t.Errorf("the same batch sent 16 times at once was added %d times", fresh)
	}
	sameStats(t, "rows", queryStats(t, s, allDays).Rows, []store.StatRow{
		row(d, "a.iso", "m1", "", store.StatsFromHub, 32),
		row(d, "a.iso", "m1", "", store.StatsFromMirror, 1),
	})
}

func testStatsCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.AddStats(ctx, mirrorBatch("m1", "b", count("2025-03-01", "a.iso", "", "", 1))); err == nil {
		t.Error("AddStats with a canceled context succeeded")
	}
	if _, err := s.QueryStats(ctx, allDays); err == nil {
		t.Error("QueryStats with a canceled context succeeded")
	}
	if res := queryStats(t, s, allDays); len(res.Rows) != 0 {
		t.Errorf("a canceled AddStats added %+v", res.Rows)
	}
}
