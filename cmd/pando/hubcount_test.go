package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/geo/geotest"
	"github.com/pando-mirror/pando/internal/store"
)

// TestHubCountsRedirects: the hub counts each GET of an object that its
// redirector answers with a redirect, for the mirror it chose and the
// client's country, and nothing else: no HEAD, no mirror list, no Metalink,
// no request with a query, no path that is no object. What it counted
// reaches the store when it stops.
func TestHubCountsRedirects(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	cfg := goodAndTamperedHub(t, n, `path = "hub.db"`, "1h")
	geoDB, err := geotest.WriteDefault(n.dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[redirect]\ngeoip = %q\ntrusted_proxies = [\"127.0.0.1\"]\n", geoDB)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	hub, cmd := runHubProcess(t, cfg)

	const (
		beta  = "pool/b/beta_2.0.tar.gz"
		alpha = "pool/a/alpha_1.0.tar.gz" // tampered holds wrong bytes of it
		de    = "127.0.1.9"
		jp    = "127.0.4.9"
	)
	for _, r := range []struct {
		method, path, client string
		status               int
	}{
		{"GET", beta, de, http.StatusFound},
		{"GET", beta, de, http.StatusFound},
		{"GET", beta, de, http.StatusFound},
		{"GET", alpha, jp, http.StatusFound},
		{"HEAD", beta, de, http.StatusFound},
		{"GET", beta + "?mirrorlist", de, http.StatusOK},
		{"GET", beta + ".meta4", de, http.StatusOK},
		{"GET", beta + "?x=1", de, http.StatusFound},
		{"GET", "pool/no-such.tar.gz", de, http.StatusFound}, // to the fall-back
	} {
		req, err := http.NewRequest(r.method, hub+r.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", r.client)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Fatalf("%s %s: %s, want %d", r.method, r.path, resp.Status, r.status)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM) // the hub stores its counts as it stops

	now := time.Now().UTC()
	from, to := now.AddDate(0, 0, -1).Format(store.StatsDayLayout), now.AddDate(0, 0, 1).Format(store.StatsDayLayout)
	want := []store.StatRow{
		{StatCount: store.StatCount{Path: alpha, Mirror: "good", Country: "JP", Downloads: 1}, Source: store.StatsFromHub},
		{StatCount: store.StatCount{Path: beta, Mirror: "good", Country: "DE", Downloads: 3}, Source: store.StatsFromHub},
	}
	st, err := store.OpenSQLite(t.Context(), filepath.Join(n.dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []store.StatRow
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res, err := st.QueryStats(t.Context(), store.StatsQuery{From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		if got = res.Rows; len(got) > 0 {
			break
		}
	}
	for i := range got { // the day is the hub's today, whichever side of midnight
		if d := got[i].Day; d < from || d > to {
			t.Errorf("counted on %s, want a day from %s to %s", d, from, to)
		}
		got[i].Day = ""
	}
	if !slices.Equal(got, want) {
		t.Errorf("counted\n%+v\nwant\n%+v", got, want)
	}
}
