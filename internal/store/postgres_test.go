package store_test

import (
	"context"
	"os"
	"testing"

	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/store/pgtest"
	"github.com/pando-mirror/pando/internal/store/storetest"
)

func openPostgres(t *testing.T) store.Store {
	t.Helper()
	dsn := pgtest.Shared(t).DSN(t)
	s, err := store.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, openPostgres)
}

func TestStatsPostgres(t *testing.T) {
	storetest.RunStats(t, openPostgres)
}

// TestPostgresReopen: a second open of a migrated database migrates
// nothing and finds what the first stored.
func TestPostgresReopen(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).DSN(t)
	s, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "origin", []byte("checkpoint")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetMeta(ctx, "origin"); err != nil || string(v) != "checkpoint" {
		t.Errorf("after reopening, GetMeta = %q, %v", v, err)
	}
}

func TestPostgresBadDSN(t *testing.T) {
	for _, dsn := range []string{"postgres://pando@127.0.0.1:1/none?connect_timeout=2", "not a dsn ==="} {
		if _, err := store.OpenPostgres(context.Background(), dsn); err == nil {
			t.Errorf("OpenPostgres(%q) succeeded", dsn)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}
