package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

// manyObjects returns n object states over https, in path order.
func manyObjects(n int) []store.ObjectState {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := make([]store.ObjectState, n)
	for i := range out {
		out[i] = store.ObjectState{Access: "https", Path: fmt.Sprintf("pool/p%06d.deb", i), Record: int64(i),
			SHA256: fmt.Sprintf("%064x", i), Size: int64(i), SizeChecked: at, HashChecked: at, OK: i%3 != 0}
	}
	return out
}

// benchSQLite opens a new SQLite store for a benchmark.
func benchSQLite(b *testing.B) *store.SQLite {
	s, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkSQLiteRecordObjects(b *testing.B) {
	ctx, s := context.Background(), benchSQLite(b)
	objects := manyObjects(100_000)
	for b.Loop() {
		pass, err := s.BeginPass(ctx, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		r := store.MirrorResult{Mirror: "m", Checked: time.Now(), AllObjects: true, Objects: objects}
		if err := s.RecordMirror(ctx, pass, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSQLiteObjects(b *testing.B) {
	ctx, s := context.Background(), benchSQLite(b)
	pass, _ := s.BeginPass(ctx, time.Now())
	r := store.MirrorResult{Mirror: "m", Checked: time.Now(), AllObjects: true, Objects: manyObjects(100_000)}
	if err := s.RecordMirror(ctx, pass, r); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Objects(ctx, "m"); err != nil {
			b.Fatal(err)
		}
	}
}
