package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
	"unsafe"

	"github.com/pando-mirror/pando/internal/store"
)

// testManyObjects records more states than one statement of a store may
// write, with an update of some of them, and reads them all back.
func testManyObjects(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 1000
	var all []store.ObjectState
	for i := 0; i < n; i++ {
		all = append(all, object("https", fmt.Sprintf("pool/p%04d.deb", i), int64(i), i%7 != 0))
	}
	p1 := beginPass(t, s, at(time.Hour))
	record(t, s, p1, store.MirrorResult{Mirror: "m", Checked: at(time.Hour), AllObjects: true, Objects: all})
	update := []store.ObjectState{object("https", "pool/p0003.deb", 5000, false), object("http", "pool/p0003.deb", 3, true)}
	p2 := beginPass(t, s, at(2*time.Hour))
	record(t, s, p2, store.MirrorResult{Mirror: "m", Checked: at(2 * time.Hour), Objects: update})
	var want []store.ObjectState
	want = append(want, objectAt("m", update[1]))
	for i, o := range all {
		if i == 3 {
			o = update[0]
		}
		want = append(want, objectAt("m", o))
	}
	got, err := s.Objects(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Objects(m)", got, want)
}

// testEachObject checks that EachObject yields what Objects returns, in
// the same order, and stops at the first error of its function.
func testEachObject(t *testing.T, s store.Store) {
	ctx := context.Background()
	var all []store.ObjectState
	for i := 0; i < 300; i++ {
		all = append(all, object("https", fmt.Sprintf("pool/p%04d.deb", i), int64(i), i%5 != 0))
	}
	all = append(all, object("http", "pool/p0001.deb", 1, true))
	p := beginPass(t, s, at(time.Hour))
	record(t, s, p, store.MirrorResult{Mirror: "m", Checked: at(time.Hour), AllObjects: true, Objects: all})
	want, err := s.Objects(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []store.ObjectState
	if err := s.EachObject(ctx, "m", func(o store.ObjectState) error {
		got = append(got, o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	equal(t, "EachObject(m)", got, want)
	stop := errors.New("enough")
	calls := 0
	err = s.EachObject(ctx, "m", func(store.ObjectState) error {
		if calls++; calls == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 10 {
		t.Errorf("EachObject after its function failed at the 10th state: %d calls, error %v", calls, err)
	}
	if err := s.EachObject(ctx, "nobody", func(store.ObjectState) error {
		t.Error("EachObject of an unknown mirror yielded a state")
		return nil
	}); err != nil {
		t.Errorf("EachObject of an unknown mirror: %v", err)
	}
}

// testObjectsInterned checks that the states of one object at two mirrors
// share their path and hash strings.
func testObjectsInterned(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := beginPass(t, s, at(time.Hour))
	for _, m := range []string{"a", "b"} {
		o := object("https", "pool/x.deb", 1, true)
		o.Path, o.SHA256 = string([]byte(o.Path)), string([]byte(o.SHA256)) // distinct copies
		record(t, s, p, store.MirrorResult{Mirror: m, Checked: at(time.Hour), Objects: []store.ObjectState{o}})
	}
	a, errA := s.Objects(ctx, "a")
	b, errB := s.Objects(ctx, "b")
	if errA != nil || errB != nil || len(a) != 1 || len(b) != 1 {
		t.Fatalf("Objects: %v, %v; %d and %d states", errA, errB, len(a), len(b))
	}
	if !sameString(a[0].Path, b[0].Path) || !sameString(a[0].SHA256, b[0].SHA256) {
		t.Errorf("the states of one object at two mirrors do not share their path and hash strings")
	}
}

// sameString reports whether a and b are one string in memory.
func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}
