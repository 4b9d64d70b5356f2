package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

// testLease: a lease goes to the first holder, is renewed by it, is kept
// from others until it expires, and then goes to the next who asks.
func testLease(t *testing.T, s store.Store) {
	ctx := context.Background()
	steps := []struct {
		holder    string
		now, till time.Duration
		want      string
	}{
		{"a", 0, time.Minute, "a"},                    // free: taken
		{"b", 30 * time.Second, 2 * time.Minute, "a"}, // held by a
		{"a", 50 * time.Second, 3 * time.Minute, "a"}, // renewed
		{"b", 2 * time.Minute, 4 * time.Minute, "a"},  // still a's until 3 min
		{"b", 3 * time.Minute, 5 * time.Minute, "b"},  // expired: b takes it
		{"a", 4 * time.Minute, 6 * time.Minute, "b"},  // a has lost it
		{"a", 5 * time.Minute, 7 * time.Minute, "a"},  // and takes it back once b's ends
	}
	for i, st := range steps {
		got, err := s.Lease(ctx, "checker", st.holder, at(st.now), at(st.till))
		if err != nil || got != st.want {
			t.Errorf("step %d: %s asks at %v: holder %q, %v; want %q", i, st.holder, st.now, got, err, st.want)
		}
	}
	if got, err := s.Lease(ctx, "other", "b", at(5*time.Minute), at(6*time.Minute)); err != nil || got != "b" {
		t.Errorf("a second lease name: %q, %v", got, err)
	}
	for _, bad := range []struct{ name, holder string }{{"", "a"}, {"checker", ""}} {
		if _, err := s.Lease(ctx, bad.name, bad.holder, at(0), at(time.Minute)); err == nil {
			t.Errorf("Lease(%q, %q) succeeded", bad.name, bad.holder)
		}
	}
	if _, err := s.Lease(ctx, "checker", "a", at(time.Minute), at(0)); err == nil {
		t.Error("a lease ending before it begins was taken")
	}
}
