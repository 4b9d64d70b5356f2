package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/store/storetest"
)

func TestStatsMemory(t *testing.T) {
	storetest.RunStats(t, func(t *testing.T) store.Store {
		s := store.NewMemory()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestStatsSQLite(t *testing.T) {
	storetest.RunStats(t, func(t *testing.T) store.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "pando.db"))
	})
}

// TestStatsSQLiteUpgrade opens a database made by the first schema alone:
// the later tables are added, what was there stays, and stats and their
// batch IDs survive reopening.
func TestStatsSQLiteUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pando.db")
	openSQLite(t, path).Close()
	db := rawDB(t, path)
	for _, q := range []string{
		`DROP TABLE stats_counts`, `DROP TABLE stats_batches`, `DROP TABLE stats_reported`, `DROP TABLE problem_counts`, `DROP TABLE leases`,
		`DELETE FROM schema_version WHERE version >= 2`,
		`INSERT INTO meta (key, value) VALUES ('kept', x'01')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openSQLite(t, path)
	if got := schemaVersions(t, path); got != "1:0001_initial.sql,2:0002_stats.sql,3:0003_problem_counts.sql,4:0004_leases.sql" {
		t.Errorf("schema_version after upgrade = %s", got)
	}
	if v, err := s.GetMeta(ctx, "kept"); err != nil || string(v) != "\x01" {
		t.Errorf("meta after upgrade = %q, %v", v, err)
	}
	b := store.StatBatch{Source: store.StatsFromMirror, Reporter: "m", ID: "b1", Received: time.Now(),
		Counts: []store.StatCount{{Day: "2025-03-01", Path: "a.iso", Downloads: 7}}}
	if dup, err := s.AddStats(ctx, b); dup || err != nil {
		t.Fatalf("AddStats after upgrade: %v, %v", dup, err)
	}
	s.Close()

	s = openSQLite(t, path)
	if dup, err := s.AddStats(ctx, b); !dup || err != nil {
		t.Errorf("AddStats of the same batch after reopening: duplicate %v, %v", dup, err)
	}
	res, err := s.QueryStats(ctx, store.StatsQuery{From: "2025-03-01", To: "2025-03-01"})
	if err != nil || len(res.Rows) != 1 || res.Rows[0].Downloads != 7 || len(res.Reported) != 1 {
		t.Errorf("QueryStats after reopening = %+v, %v", res, err)
	}
}
