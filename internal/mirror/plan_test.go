package mirror

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"testing"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

func file(p string, b byte) journal.Record {
	return journal.Record{Kind: journal.File, Path: p, Size: 1, SHA256: [32]byte{b}, MTime: 1}
}

func state(t testing.TB, recs ...journal.Record) *journal.State {
	t.Helper()
	s := journal.NewState()
	for _, r := range recs {
		if err := s.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func paths(rs []journal.Record) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}

func TestMakePlan(t *testing.T) {
	have := state(t, file("a", 1), file("b", 2), file("c", 3))
	want := state(t, file("a", 1), file("b", 9), file("d", 3), file("e", 7), file("f", 7))
	p := makePlan(have, want, nil, nil)
	if got := paths(p.install); !reflect.DeepEqual(got, []string{"b", "d", "e", "f"}) {
		t.Errorf("install = %v, want b (changed), d (new), e and f (new, same bytes)", got)
	}
	if !reflect.DeepEqual(p.remove, []string{"c"}) {
		t.Errorf("remove = %v, want [c]", p.remove)
	}
	byHash := map[byte]blob{}
	for _, b := range p.blobs {
		byHash[b.sha[0]] = b
	}
	if b := byHash[3]; b.local != "c" {
		t.Errorf("d's bytes should be reused from c, got local %q", b.local)
	}
	if b := byHash[7]; b.uses != 2 || b.local != "" {
		t.Errorf("e and f share one fetched blob: %+v", b)
	}
	if len(p.blobs) != 3 {
		t.Errorf("%d blobs, want 3 (9, 3, 7)", len(p.blobs))
	}

	// A path an interrupted run was replacing is installed again even though
	// the log says it already holds the right bytes, and is never a source.
	p = makePlan(have, have, nil, map[string]bool{"a": true})
	if got := paths(p.install); !reflect.DeepEqual(got, []string{"a"}) || p.blobs[0].local != "" {
		t.Errorf("suspect a: install %v, blob %+v", got, p.blobs)
	}
}

func TestLeftovers(t *testing.T) {
	have := state(t, file("a", 1))
	want := state(t, file("a", 1), file("dir/x", 2))
	pending := &logdir.Pending{
		Install: []logdir.PendingFile{{Path: "gone-since"}, {Path: "dir/x"}, {Path: "a"}},
		Remove:  []string{"old", "dir"},
	}
	got := leftovers(pending, have, want)
	if !reflect.DeepEqual(got, []string{"gone-since", "old"}) {
		t.Errorf("leftovers = %v, want the installed-then-dropped path and the unfinished removal", got)
	}
	if leftovers(nil, have, want) != nil {
		t.Error("no pending intent, no leftovers")
	}
}

// TestMakePlanChanged: planning over only the paths the new records name
// gives the plan that comparing every path gives.
func TestMakePlanChanged(t *testing.T) {
	recs := []journal.Record{file("a", 1), file("b", 2), file("c", 3), file("d/x", 4)}
	more := []journal.Record{
		file("b", 9), // changed
		journal.Record{Kind: journal.Remove, Path: "c"}, // removed
		file("e", 3), // new, bytes of c
		journal.Record{Kind: journal.Remove, Path: "d/x"},
		file("d", 4), // a directory becomes a file
		file("a", 1), // re-published unchanged
	}
	have, want := state(t, recs...), state(t, append(recs, more...)...)
	var tail []byte
	for _, r := range more {
		tail, _ = journal.AppendLine(tail, &r)
	}
	changed, err := tailPaths(tail)
	if err != nil {
		t.Fatal(err)
	}
	for _, suspect := range []map[string]bool{nil, {"a": true}} {
		full, part := makePlan(have, want, nil, suspect), makePlan(have, want, changed, suspect)
		if !reflect.DeepEqual(full, part) {
			t.Errorf("suspect %v: plan over %v\n%+v\nwant\n%+v", suspect, changed, part, full)
		}
	}
	p := makePlan(have, want, changed, nil)
	if got := paths(p.install); !reflect.DeepEqual(got, []string{"b", "d", "e"}) {
		t.Errorf("install %v, want [b d e]", got)
	}
	if !reflect.DeepEqual(p.remove, []string{"c", "d/x"}) {
		t.Errorf("remove %v, want [c d/x]", p.remove)
	}
}

// BenchmarkPlanFirstSync plans a mirror's first sync of a large repository:
// every path new.
func BenchmarkPlanFirstSync(b *testing.B) {
	var recs []journal.Record
	var changed []string
	for i := range 75000 {
		r := journal.Record{Kind: journal.File, Path: fmt.Sprintf("d%03d/f%05d", i%300, i), Size: int64(i), MTime: 1}
		r.SHA256 = sha256.Sum256([]byte(r.Path))
		recs = append(recs, r)
		changed = append(changed, r.Path)
	}
	have, want := journal.NewState(), state(b, recs...)
	for b.Loop() {
		if p := makePlan(have, want, changed, nil); len(p.blobs) != len(recs) {
			b.Fatalf("%d blobs, want %d", len(p.blobs), len(recs))
		}
	}
}
