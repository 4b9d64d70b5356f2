package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/store/storetest"
)

func openSQLite(t *testing.T, path string) *store.SQLite {
	t.Helper()
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "pando.db"))
	})
}

var when = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func recordOne(t *testing.T, s store.Store, mirror string, problems ...store.Problem) store.PassID {
	t.Helper()
	ctx := context.Background()
	p, err := s.BeginPass(ctx, when)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(12)
	r := store.MirrorResult{
		Mirror: mirror, Checked: when.Add(time.Minute), Problems: problems,
		Access:  []store.AccessResult{{Access: "https", URL: "https://m/", Reachable: true, Records: &n, Complete: 1, OK: true}},
		Objects: []store.ObjectState{{Access: "https", Path: "a.iso", Record: 3, SHA256: "ab", Size: 9, OK: true}},
	}
	if err := s.RecordMirror(ctx, p, r); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishPass(ctx, p, when.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSQLiteReopen checks that state survives closing and reopening the
// file, and that migrations are applied once.
func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "pando.db")
	s, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p := recordOne(t, s, "m", store.Problem{Access: "https", Kind: store.Missing, Path: "b.iso"})
	if err := s.PutMeta(ctx, "origin", []byte("checkpoint")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		s = openSQLite(t, path)
		rs, err := s.LatestResults(ctx)
		if err != nil || len(rs) != 1 || rs[0].Pass != p || len(rs[0].Problems) != 1 || *rs[0].Access[0].Records != 12 {
			t.Fatalf("after reopening, LatestResults = %+v, %v", rs, err)
		}
		if v, err := s.GetMeta(ctx, "origin"); err != nil || string(v) != "checkpoint" {
			t.Errorf("after reopening, GetMeta = %q, %v", v, err)
		}
		if os, err := s.Objects(ctx, "m"); err != nil || len(os) != 1 {
			t.Errorf("after reopening, Objects = %+v, %v", os, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := schemaVersions(t, path); got != "1:0001_initial.sql,2:0002_stats.sql,3:0003_problem_counts.sql,4:0004_leases.sql" {
		t.Errorf("schema_version = %s, want one row for each of migrations 1 to 4", got)
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func schemaVersions(t *testing.T, path string) string {
	t.Helper()
	rows, err := rawDB(t, path).Query(`SELECT version, name FROM schema_version ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", v, name))
	}
	return strings.Join(got, ",")
}

func TestSQLiteNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pando.db")
	openSQLite(t, path).Close()
	if _, err := rawDB(t, path).Exec(`INSERT INTO schema_version (version, name) VALUES (99, 'future.sql')`); err != nil {
		t.Fatal(err)
	}
	_, err := store.OpenSQLite(context.Background(), path)
	want := "sqlite database " + path + ": schema version 99 is newer than this program knows (4); use a newer pando"
	if err == nil || err.Error() != want {
		t.Errorf("OpenSQLite of a newer schema: %v, want %s", err, want)
	}
}

func TestSQLiteBadPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if _, err := store.OpenSQLite(context.Background(), p); err == nil {
			t.Errorf("OpenSQLite(%q) succeeded", p)
		}
	}
}

// TestSQLiteRerunNoDuplicates records the same pass many times over and
// counts the rows.
func TestSQLiteRerunNoDuplicates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pando.db")
	s := openSQLite(t, path)
	p, err := s.BeginPass(ctx, when)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(5)
	for i := range 5 {
		r := store.MirrorResult{
			Mirror: "m", Checked: when.Add(time.Duration(i) * time.Minute),
			Access:   []store.AccessResult{{Access: "https", Records: &n}, {Access: "http"}},
			Problems: []store.Problem{{Access: "https", Kind: store.Hash, Path: "a", Expected: "x", Got: fmt.Sprint(i)}},
			Objects:  []store.ObjectState{{Access: "https", Path: "a", Record: int64(i)}},
		}
		if err := s.RecordMirror(ctx, p, r); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, path)
	for table, want := range map[string]int{"passes": 1, "mirror_results": 1, "access_results": 2, "problems": 1, "objects": 1} {
		var got int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s has %d rows, want %d", table, got, want)
		}
	}
	rs, err := s.LatestResults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pr := rs[0].Problems[0]
	if pr.Got != "4" || !pr.FirstSeen.Equal(when) || !pr.LastSeen.Equal(when.Add(4*time.Minute)) {
		t.Errorf("problem after re-runs = %+v; want got 4, first seen at the first run, last at the last", pr)
	}
}

// TestSQLiteTwoHandles writes through two handles on one file at once, as a
// hub and a separate checker process would.
func TestSQLiteTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pando.db")
	a, b := openSQLite(t, path), openSQLite(t, path)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		for _, s := range []store.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, err := s.BeginPass(ctx, when)
				if err == nil {
					err = s.RecordMirror(ctx, p, store.MirrorResult{Mirror: fmt.Sprintf("m%d", i), Checked: when,
						Access: []store.AccessResult{{Access: "https"}}})
				}
				if err != nil && !errors.Is(err, store.ErrOldPass) { // two passes race for m<i>
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ps, err := a.Passes(ctx, 0)
	if err != nil || len(ps) != 40 {
		t.Errorf("Passes = %d, %v; want 40", len(ps), err)
	}
	rs, err := b.LatestResults(ctx)
	if err != nil || len(rs) != 20 {
		t.Errorf("LatestResults = %d, %v; want 20", len(rs), err)
	}
}
