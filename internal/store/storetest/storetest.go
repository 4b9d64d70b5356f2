// Package storetest is the conformance suite every store.Store
// implementation runs: what the checker records, the hub must read back the
// same way, whatever keeps it. Run covers the checker's state, RunStats the
// download statistics; an implementation runs both.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

// Run runs the suite; open returns a new, empty store for each test and
// arranges for it to be closed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Empty", testEmpty},
		{"Passes", testPasses},
		{"RecordAndRead", testRecordAndRead},
		{"ProblemContinuity", testProblemContinuity},
		{"RerunReplaces", testRerunReplaces},
		{"PassOrder", testPassOrder},
		{"Objects", testObjects},
		{"ManyObjects", testManyObjects},
		{"EachObject", testEachObject},
		{"ObjectsInterned", testObjectsInterned},
		{"History", testHistory},
		{"ProblemCounts", testProblemCounts},
		{"Prune", testPrune},
		{"Lease", testLease},
		{"Invalid", testInvalid},
		{"Meta", testMeta},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Canceled", testCanceled},
		{"NoAliasing", testNoAliasing},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// t0 is deliberately not UTC and not a whole microsecond: stores keep UTC
// microseconds.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))

func at(d time.Duration) time.Time { return t0.Add(d) }

// kept is t as a store gives it back.
func kept(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func records(n int64) *int64 { return &n }

func beginPass(t *testing.T, s store.Store, started time.Time) store.PassID {
	t.Helper()
	id, err := s.BeginPass(context.Background(), started)
	if err != nil {
		t.Fatalf("BeginPass: %v", err)
	}
	return id
}

func record(t *testing.T, s store.Store, pass store.PassID, r store.MirrorResult) {
	t.Helper()
	if err := s.RecordMirror(context.Background(), pass, r); err != nil {
		t.Fatalf("RecordMirror(%d, %s): %v", pass, r.Mirror, err)
	}
}

func latest(t *testing.T, s store.Store) map[string]store.MirrorResult {
	t.Helper()
	rs, err := s.LatestResults(context.Background())
	if err != nil {
		t.Fatalf("LatestResults: %v", err)
	}
	m := map[string]store.MirrorResult{}
	for i, r := range rs {
		if i > 0 && rs[i-1].Mirror >= r.Mirror {
			t.Errorf("LatestResults not ordered by mirror: %q before %q", rs[i-1].Mirror, r.Mirror)
		}
		m[r.Mirror] = r
	}
	return m
}

// equal compares after treating empty and nil slices alike.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(canon(got), canon(want)) {
		t.Errorf("%s:\n got %s\nwant %s", what, show(got), show(want))
	}
}

func canon(v any) any {
	switch v := v.(type) {
	case store.MirrorResult:
		return canonResult(v)
	case []store.MirrorResult:
		out := []store.MirrorResult{}
		for _, r := range v {
			out = append(out, canonResult(r))
		}
		return out
	case []store.ObjectState:
		return append([]store.ObjectState{}, v...)
	case []store.Problem:
		return append([]store.Problem{}, v...)
	case []store.Pass:
		return append([]store.Pass{}, v...)
	}
	return v
}

func canonResult(r store.MirrorResult) store.MirrorResult {
	r.Access = append([]store.AccessResult{}, r.Access...)
	r.Problems = append([]store.Problem{}, r.Problems...)
	r.Objects = append([]store.ObjectState{}, r.Objects...)
	return r
}

func show(v any) string {
	switch v := canon(v).(type) {
	case store.MirrorResult:
		return showResult(v)
	case []store.MirrorResult:
		s := "["
		for _, r := range v {
			s += "\n  " + showResult(r)
		}
		return s + "]"
	}
	return fmt.Sprintf("%+v", v)
}

func showResult(r store.MirrorResult) string {
	s := fmt.Sprintf("{pass %d %s checked %v", r.Pass, r.Mirror, r.Checked)
	for _, a := range r.Access {
		rec := "nil"
		if a.Records != nil {
			rec = fmt.Sprint(*a.Records)
		}
		s += fmt.Sprintf("\n    access %+v records=%s", a, rec)
	}
	for _, p := range r.Problems {
		s += fmt.Sprintf("\n    problem %+v", p)
	}
	return s + "}"
}

func testEmpty(t *testing.T, s store.Store) {
	ctx := context.Background()
	if rs, err := s.LatestResults(ctx); err != nil || len(rs) != 0 {
		t.Errorf("LatestResults = %v, %v; want none", rs, err)
	}
	if ps, err := s.Passes(ctx, 0); err != nil || len(ps) != 0 {
		t.Errorf("Passes = %v, %v; want none", ps, err)
	}
	if rs, err := s.MirrorHistory(ctx, "a", time.Time{}); err != nil || len(rs) != 0 {
		t.Errorf("MirrorHistory = %v, %v; want none", rs, err)
	}
	if os, err := s.Objects(ctx, "a"); err != nil || len(os) != 0 {
		t.Errorf("Objects = %v, %v; want none", os, err)
	}
	if os, err := s.ObjectMirrors(ctx, "a.iso"); err != nil || len(os) != 0 {
		t.Errorf("ObjectMirrors = %v, %v; want none", os, err)
	}
	if _, err := s.GetMeta(ctx, "origin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMeta of a missing key: %v, want ErrNotFound", err)
	}
}

func testPasses(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := beginPass(t, s, at(0))
	p2 := beginPass(t, s, at(time.Hour))
	p3 := beginPass(t, s, at(2*time.Hour))
	if p1 < 1 || p2 <= p1 || p3 <= p2 {
		t.Fatalf("pass IDs %d, %d, %d do not increase from 1", p1, p2, p3)
	}
	if err := s.FinishPass(ctx, p2, at(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Passes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Passes(0)", got, []store.Pass{
		{ID: p3, Started: kept(at(2 * time.Hour))},
		{ID: p2, Started: kept(at(time.Hour)), Finished: kept(at(90 * time.Minute))},
		{ID: p1, Started: kept(at(0))},
	})
	if got, err := s.Passes(ctx, 1); err != nil || len(got) != 1 || got[0].ID != p3 {
		t.Errorf("Passes(1) = %v, %v; want pass %d", got, err, p3)
	}
	if err := s.FinishPass(ctx, p3+10, at(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FinishPass of an unknown pass: %v, want ErrNotFound", err)
	}
	if _, err := s.BeginPass(ctx, time.Time{}); err == nil {
		t.Errorf("BeginPass with no start time succeeded")
	}
}

// sample is a result with every field set.
func sample(mirror string, checked time.Time, problems ...store.Problem) store.MirrorResult {
	return store.MirrorResult{
		Mirror:  mirror,
		Checked: checked,
		Access: []store.AccessResult{
			{Access: "https", URL: "https://" + mirror + "/", Reachable: true, TLSExpiry: at(30 * 24 * time.Hour),
				Records: records(42), Lag: 90*time.Second + 700*time.Millisecond, Complete: 0.75, OK: false, Detail: "3 missing"},
			{Access: "http", URL: "http://" + mirror + "/", Reachable: false, Detail: "connection refused"},
		},
		Problems: problems,
	}
}

// wantResult is what a store gives back for sample's result.
func wantResult(pass store.PassID, r store.MirrorResult, problems ...store.Problem) store.MirrorResult {
	return store.MirrorResult{
		Pass: pass, Mirror: r.Mirror, Checked: kept(r.Checked),
		Access: []store.AccessResult{
			{Access: "http", URL: r.Access[1].URL, Reachable: false, Detail: "connection refused"},
			{Access: "https", URL: r.Access[0].URL, Reachable: true, TLSExpiry: kept(at(30 * 24 * time.Hour)),
				Records: records(42), Lag: 90 * time.Second, Complete: 0.75, OK: false, Detail: "3 missing"},
		},
		Problems: problems,
	}
}

func problem(access string, kind store.ProblemKind, path, expected, got string) store.Problem {
	return store.Problem{Access: access, Kind: kind, Path: path, Expected: expected, Got: got}
}

// seen is p as a store gives it back for mirror, seen from pass first at
// time firstAt to pass last at lastAt.
func seen(p store.Problem, mirror string, first, last store.PassID, firstAt, lastAt time.Time) store.Problem {
	p.Mirror, p.FirstPass, p.LastPass, p.FirstSeen, p.LastSeen = mirror, first, last, kept(firstAt), kept(lastAt)
	return p
}

func testRecordAndRead(t *testing.T, s store.Store) {
	p := beginPass(t, s, at(0))
	missing := problem("https", store.Missing, "pool/a.iso", "1024", "")
	hash := problem("https", store.Hash, "pool/b.iso", "9f86", "0000")
	unreachable := problem("http", store.Unreachable, "", "", "connection refused")
	a := sample("alpha", at(time.Minute), missing, hash, unreachable)
	b := sample("beta", at(2*time.Minute))
	record(t, s, p, b)
	record(t, s, p, a)
	got := latest(t, s)
	if len(got) != 2 {
		t.Fatalf("LatestResults has %d mirrors, want 2", len(got))
	}
	equal(t, "latest of alpha", got["alpha"], wantResult(p, a,
		seen(unreachable, "alpha", p, p, at(time.Minute), at(time.Minute)),
		seen(hash, "alpha", p, p, at(time.Minute), at(time.Minute)),
		seen(missing, "alpha", p, p, at(time.Minute), at(time.Minute)),
	))
	equal(t, "latest of beta", got["beta"], wantResult(p, b))
}

func testProblemContinuity(t *testing.T, s store.Store) {
	x := problem("https", store.Missing, "x", "1", "")
	y := problem("https", store.Size, "y", "2", "3")
	z := problem("", store.Stale, "", "10", "8")
	p1 := beginPass(t, s, at(0))
	record(t, s, p1, sample("m", at(1*time.Hour), x, y))
	p2 := beginPass(t, s, at(2*time.Hour))
	y2 := y
	y2.Got = "4"
	record(t, s, p2, sample("m", at(3*time.Hour), y2, z))
	equal(t, "problems after pass 2", latest(t, s)["m"].Problems, []store.Problem{
		seen(z, "m", p2, p2, at(3*time.Hour), at(3*time.Hour)),
		seen(y2, "m", p1, p2, at(1*time.Hour), at(3*time.Hour)),
	})
	// x went away in pass 2; back in pass 3 it is a new sighting.
	p3 := beginPass(t, s, at(4*time.Hour))
	record(t, s, p3, sample("m", at(5*time.Hour), x, y2))
	equal(t, "problems after pass 3", latest(t, s)["m"].Problems, []store.Problem{
		seen(x, "m", p3, p3, at(5*time.Hour), at(5*time.Hour)),
		seen(y2, "m", p1, p3, at(1*time.Hour), at(5*time.Hour)),
	})
	// A pass that skips the mirror breaks nothing: continuity is per mirror.
	p4 := beginPass(t, s, at(6*time.Hour))
	record(t, s, p4, sample("other", at(6*time.Hour)))
	p5 := beginPass(t, s, at(7*time.Hour))
	record(t, s, p5, sample("m", at(8*time.Hour), x))
	equal(t, "problems after pass 5", latest(t, s)["m"].Problems, []store.Problem{
		seen(x, "m", p3, p5, at(5*time.Hour), at(8*time.Hour)),
	})
}

func testRerunReplaces(t *testing.T, s store.Store) {
	ctx := context.Background()
	x := problem("https", store.Missing, "x", "1", "")
	y := problem("https", store.Missing, "y", "1", "")
	z := problem("https", store.Missing, "z", "1", "")
	p1 := beginPass(t, s, at(0))
	record(t, s, p1, sample("m", at(time.Hour), x))
	p2 := beginPass(t, s, at(2*time.Hour))
	record(t, s, p2, sample("m", at(3*time.Hour), x, y))

	// Run pass 2 again: z instead of x and y, and only one access point.
	again := sample("m", at(4*time.Hour), z)
	again.Access = again.Access[:1]
	record(t, s, p2, again)
	record(t, s, p2, again)
	want := wantResult(p2, sample("m", at(4*time.Hour)), seen(z, "m", p2, p2, at(4*time.Hour), at(4*time.Hour)))
	want.Access = want.Access[1:]
	equal(t, "latest after re-run", latest(t, s)["m"], want)
	hist, err := s.MirrorHistory(ctx, "m", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Pass != p1 || hist[1].Pass != p2 || len(hist[1].Access) != 1 {
		t.Errorf("history after re-run: %s; want passes %d and %d, one access result in the second", show(hist), p1, p2)
	}

	// x was in pass 1 and not in the re-run pass 2, so pass 3 sees it anew.
	p3 := beginPass(t, s, at(5*time.Hour))
	record(t, s, p3, sample("m", at(6*time.Hour), x))
	equal(t, "problems after pass 3", latest(t, s)["m"].Problems, []store.Problem{
		seen(x, "m", p3, p3, at(6*time.Hour), at(6*time.Hour)),
	})

	// Re-running pass 3 with x still there keeps its first sighting.
	record(t, s, p3, sample("m", at(7*time.Hour), x))
	equal(t, "problems after re-running pass 3", latest(t, s)["m"].Problems, []store.Problem{
		seen(x, "m", p3, p3, at(6*time.Hour), at(7*time.Hour)),
	})
}

func testPassOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := beginPass(t, s, at(0))
	p2 := beginPass(t, s, at(time.Hour))
	record(t, s, p2, sample("m", at(time.Hour)))
	if err := s.RecordMirror(ctx, p1, sample("m", at(0))); !errors.Is(err, store.ErrOldPass) {
		t.Errorf("recording an older pass: %v, want ErrOldPass", err)
	}
	record(t, s, p1, sample("other", at(0))) // other mirrors are unaffected
	for _, p := range []store.PassID{0, -1, p2 + 1} {
		if err := s.RecordMirror(ctx, p, sample("m", at(0))); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("recording into pass %d: %v, want ErrNotFound", p, err)
		}
	}
	if got := latest(t, s)["m"]; got.Pass != p2 {
		t.Errorf("latest pass of m = %d, want %d", got.Pass, p2)
	}
}

func object(access, path string, rec int64, ok bool) store.ObjectState {
	return store.ObjectState{
		Access: access, Path: path, Record: rec, SHA256: fmt.Sprintf("%064x", rec), Size: 100 + rec,
		SizeChecked: at(time.Duration(rec) * time.Minute), OK: ok,
	}
}

func objectAt(mirror string, o store.ObjectState) store.ObjectState {
	o.Mirror, o.SizeChecked, o.HashChecked = mirror, kept(o.SizeChecked), kept(o.HashChecked)
	return o
}

func testObjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := beginPass(t, s, at(0))
	hashed := object("https", "b.iso", 2, true)
	hashed.HashChecked = at(3 * time.Minute)
	r := store.MirrorResult{Mirror: "m", Checked: at(time.Hour), Objects: []store.ObjectState{
		object("https", "c.iso", 3, false), hashed, object("http", "b.iso", 2, true),
		object("https", "a.iso", 1, true), object("https", "a.iso", 9, true), // the last wins
	}}
	record(t, s, p1, r)
	record(t, s, p1, store.MirrorResult{Mirror: "k", Checked: at(time.Hour), Objects: []store.ObjectState{
		object("https", "b.iso", 1, false),
	}})
	got, err := s.Objects(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Objects(m)", got, []store.ObjectState{
		objectAt("m", object("http", "b.iso", 2, true)),
		objectAt("m", object("https", "a.iso", 9, true)),
		objectAt("m", hashed),
		objectAt("m", object("https", "c.iso", 3, false)),
	})
	got, err = s.ObjectMirrors(ctx, "b.iso")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "ObjectMirrors(b.iso)", got, []store.ObjectState{
		objectAt("k", object("https", "b.iso", 1, false)),
		objectAt("m", object("http", "b.iso", 2, true)),
		objectAt("m", hashed),
	})

	// A partial update changes only what it names; a full one replaces all.
	p2 := beginPass(t, s, at(2*time.Hour))
	record(t, s, p2, store.MirrorResult{Mirror: "m", Checked: at(2 * time.Hour), Objects: []store.ObjectState{
		object("https", "c.iso", 4, true),
	}})
	if got, _ := s.Objects(ctx, "m"); len(got) != 4 || got[3] != objectAt("m", object("https", "c.iso", 4, true)) {
		t.Errorf("after a partial update, Objects(m) = %+v", got)
	}
	p3 := beginPass(t, s, at(3*time.Hour))
	record(t, s, p3, store.MirrorResult{Mirror: "m", Checked: at(3 * time.Hour), AllObjects: true, Objects: []store.ObjectState{
		object("https", "d.iso", 5, true),
	}})
	got, _ = s.Objects(ctx, "m")
	equal(t, "Objects(m) after a full update", got, []store.ObjectState{objectAt("m", object("https", "d.iso", 5, true))})
	if got, _ := s.Objects(ctx, "k"); len(got) != 1 {
		t.Errorf("a full update of m changed k: %+v", got)
	}
}

func testHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	var want []store.MirrorResult
	for i := range 3 {
		p := beginPass(t, s, at(time.Duration(i)*time.Hour))
		r := sample("m", at(time.Duration(i)*time.Hour+time.Minute), problem("", store.Frozen, "", "", ""))
		record(t, s, p, r)
		record(t, s, p, sample("other", at(time.Duration(i)*time.Hour)))
		w := wantResult(p, r)
		w.ProblemCounts = map[store.ProblemKind]int{store.Frozen: 1}
		want = append(want, w)
	}
	got, err := s.MirrorHistory(ctx, "m", at(time.Hour+time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "MirrorHistory since the second result", got, want[1:])
	got, _ = s.MirrorHistory(ctx, "m", time.Time{})
	equal(t, "MirrorHistory since the beginning", got, want)
	if got, _ := s.MirrorHistory(ctx, "nobody", time.Time{}); len(got) != 0 {
		t.Errorf("MirrorHistory of an unknown mirror = %v", got)
	}
	if got := latest(t, s)["m"]; got.ProblemCounts != nil {
		t.Errorf("LatestResults gave problem counts %v; only MirrorHistory does", got.ProblemCounts)
	}
}

// testProblemCounts: a result's problems are counted by kind in the
// mirror's history, and recording the mirror again in the same pass
// replaces the counts.
func testProblemCounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	p1 := beginPass(t, s, at(0))
	record(t, s, p1, sample("m", at(time.Minute),
		problem("https", store.Missing, "a", "", ""), problem("https", store.Missing, "b", "", ""),
		problem("https", store.Hash, "c", "x", "y")))
	p2 := beginPass(t, s, at(time.Hour))
	record(t, s, p2, sample("m", at(time.Hour+time.Minute), problem("https", store.Hash, "c", "x", "y")))
	record(t, s, p2, sample("m", at(time.Hour+2*time.Minute))) // re-run: clean now
	p3 := beginPass(t, s, at(2*time.Hour))
	record(t, s, p3, sample("m", at(2*time.Hour+time.Minute), problem("", store.Stale, "", "", "")))
	hist, err := s.MirrorHistory(ctx, "m", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[store.ProblemKind]int
	for _, r := range hist {
		got = append(got, r.ProblemCounts)
	}
	want := []map[store.ProblemKind]int{{store.Missing: 2, store.Hash: 1}, nil, {store.Stale: 1}}
	equal(t, "problem counts by result", got, want)
}

func testInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := beginPass(t, s, at(0))
	for _, tt := range []struct {
		name string
		edit func(r *store.MirrorResult)
	}{
		{"no mirror", func(r *store.MirrorResult) { r.Mirror = "" }},
		{"no checked time", func(r *store.MirrorResult) { r.Checked = time.Time{} }},
		{"unknown kind", func(r *store.MirrorResult) { r.Problems = []store.Problem{{Kind: "weird"}} }},
		{"complete above 1", func(r *store.MirrorResult) { r.Access[0].Complete = 1.5 }},
		{"complete NaN", func(r *store.MirrorResult) { r.Access[0].Complete = math.NaN() }},
		{"negative lag", func(r *store.MirrorResult) { r.Access[0].Lag = -time.Second }},
		{"no access kind", func(r *store.MirrorResult) { r.Access[0].Access = "" }},
		{"object without path", func(r *store.MirrorResult) {
			r.Objects = []store.ObjectState{{Access: "https"}}
		}},
		{"object without access", func(r *store.MirrorResult) {
			r.Objects = []store.ObjectState{{Path: "a"}}
		}},
	} {
		r := sample("m", at(time.Minute))
		tt.edit(&r)
		if err := s.RecordMirror(ctx, p, r); err == nil {
			t.Errorf("%s: RecordMirror succeeded", tt.name)
		}
	}
	if got := latest(t, s); len(got) != 0 {
		t.Errorf("invalid results were recorded: %v", got)
	}
}

func testMeta(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, v := range [][]byte{[]byte("checkpoint 1"), []byte("checkpoint 2\x00\xff"), {}} {
		if err := s.PutMeta(ctx, "origin/checkpoint", v); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetMeta(ctx, "origin/checkpoint")
		if err != nil || string(got) != string(v) {
			t.Errorf("GetMeta after PutMeta(%q) = %q, %v", v, got, err)
		}
	}
	if err := s.PutMeta(ctx, "", []byte("x")); err == nil {
		t.Errorf("PutMeta with an empty key succeeded")
	}
	if _, err := s.GetMeta(ctx, "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMeta(other) = %v, want ErrNotFound", err)
	}
}

func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := beginPass(t, s, at(0))
	const writers, objects = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for i := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r := sample(fmt.Sprintf("m%02d", i), at(time.Minute), problem("https", store.Timeout, "x", "", ""))
			for j := range objects {
				r.Objects = append(r.Objects, object("https", fmt.Sprintf("f%03d", j), int64(j), true))
			}
			errs <- s.RecordMirror(ctx, p, r)
		}()
		go func() {
			defer wg.Done()
			_, err := s.LatestResults(ctx)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got := latest(t, s)
	if len(got) != writers {
		t.Fatalf("LatestResults has %d mirrors, want %d", len(got), writers)
	}
	for name, r := range got {
		if len(r.Access) != 2 || len(r.Problems) != 1 {
			t.Errorf("%s: %s", name, show(r))
		}
	}
	if os, err := s.ObjectMirrors(ctx, "f007"); err != nil || len(os) != writers {
		t.Errorf("ObjectMirrors(f007) = %d states, %v; want %d", len(os), err, writers)
	}
}

func testCanceled(t *testing.T, s store.Store) {
	p := beginPass(t, s, at(0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.RecordMirror(ctx, p, sample("m", at(0))); err == nil {
		t.Errorf("RecordMirror with a canceled context succeeded")
	}
	if got := latest(t, s); len(got) != 0 {
		t.Errorf("a canceled RecordMirror recorded %v", got)
	}
}

func testNoAliasing(t *testing.T, s store.Store) {
	p := beginPass(t, s, at(0))
	r := sample("m", at(0))
	record(t, s, p, r)
	*r.Access[0].Records = 7
	r.Access[1].URL = "changed"
	got := latest(t, s)["m"]
	*got.Access[1].Records = 8
	equal(t, "latest after changing the caller's copies", latest(t, s)["m"], wantResult(p, sample("m", at(0))))
}
