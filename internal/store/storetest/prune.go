package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

// testPrune: passes and problems older than the cut go, unless they are a
// mirror's latest result or current problems; stats batch IDs older than
// the cut are forgotten; download counts and object states stay.
func testPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	hash := problem("https", store.Hash, "a.iso", "x", "y")
	stale := problem("", store.Stale, "", "3", "2")
	p1 := beginPass(t, s, at(0))
	r := sample("a", at(time.Minute), hash)
	r.Objects = []store.ObjectState{object("https", "a.iso", 1, true)}
	record(t, s, p1, r)
	record(t, s, p1, sample("b", at(time.Minute), stale)) // b is never checked again
	p2 := beginPass(t, s, at(time.Hour))
	record(t, s, p2, sample("a", at(time.Hour+time.Minute)))
	p3 := beginPass(t, s, at(3*time.Hour))
	record(t, s, p3, sample("a", at(3*time.Hour+time.Minute)))
	for _, id := range []string{"old", "new"} {
		b := store.StatBatch{Source: store.StatsFromMirror, Reporter: "a", ID: id, Received: at(0),
			Counts: []store.StatCount{{Day: "2025-03-01", Path: "a.iso", Downloads: 1}}}
		if id == "new" {
			b.Received = at(3 * time.Hour)
		}
		if _, err := s.AddStats(ctx, b); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.Prune(ctx, at(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "pruned", got, store.Pruned{Passes: 1, Problems: 1, Batches: 1})
	passes, _ := s.Passes(ctx, 0)
	var ids []store.PassID
	for _, p := range passes {
		ids = append(ids, p.ID)
	}
	equal(t, "passes kept", ids, []store.PassID{p3, p1}) // p1 holds b's latest result
	hist, _ := s.MirrorHistory(ctx, "a", time.Time{})
	if len(hist) != 2 || hist[0].Pass != p1 || hist[1].Pass != p3 {
		t.Errorf("a's history after pruning: %v", hist)
	}
	l := latest(t, s)
	if l["b"].Pass != p1 || len(l["b"].Problems) != 1 || l["b"].Problems[0].Kind != store.Stale {
		t.Errorf("b's latest result after pruning: %+v; want pass %d with its stale problem", l["b"], p1)
	}
	if objs, _ := s.Objects(ctx, "a"); len(objs) != 1 {
		t.Errorf("a's objects after pruning: %v", objs)
	}
	// The old batch ID is forgotten, the new one is not; the counts stay.
	for id, wantDup := range map[string]bool{"old": false, "new": true} {
		b := store.StatBatch{Source: store.StatsFromMirror, Reporter: "a", ID: id, Received: at(4 * time.Hour),
			Counts: []store.StatCount{{Day: "2025-03-01", Path: "a.iso", Downloads: 1}}}
		if dup, err := s.AddStats(ctx, b); err != nil || dup != wantDup {
			t.Errorf("batch %q after pruning: duplicate %v, %v; want %v", id, dup, err, wantDup)
		}
	}
	res, _ := s.QueryStats(ctx, store.StatsQuery{From: "2025-03-01", To: "2025-03-01"})
	if len(res.Rows) != 1 || res.Rows[0].Downloads != 3 {
		t.Errorf("counts after pruning: %+v; want the 2 kept and the 1 added", res.Rows)
	}
	// A new pass after pruning gets a new ID.
	if p4 := beginPass(t, s, at(5*time.Hour)); p4 <= p3 {
		t.Errorf("pass after pruning = %d, want more than %d", p4, p3)
	}
	if again, _ := s.Prune(ctx, at(2*time.Hour)); again != (store.Pruned{}) {
		t.Errorf("pruning again removed %+v", again)
	}
}
