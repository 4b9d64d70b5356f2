package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/store/pgtest"
)

// TestCheckersAndHubShareAPostgresStore: two pando check processes (two
// checker nodes) run at once against one PostgreSQL database, and a hub on
// the same database then serves what they found.
func TestCheckersAndHubShareAPostgresStore(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	dsn := pgtest.Shared(t).DSN(t)
	cfg := goodAndTamperedHub(t, n, fmt.Sprintf("driver = \"postgres\"\ndsn = %q", dsn), "1h")

	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = pando(t, "check", "--config", cfg, "--json") }()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 1 || !strings.Contains(r.stdout, `"kind":"hash"`) {
			t.Fatalf("checker node %d: exit %d, want 1 naming the hash problem\nstdout: %s\nstderr: %s", i, r.code, r.stdout, r.stderr)
		}
	}
	st, err := store.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	passes, err := st.Passes(t.Context(), 0)
	if err != nil || len(passes) != 2 {
		t.Fatalf("passes in the shared store = %v, %v; want one per checker", passes, err)
	}

	hub, _ := runHubProcess(t, cfg)
	resp, err := http.Get(hub + "api/v1/mirrors/tampered")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Kind string `json:"kind"`
		} `json:"problems"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.OK || len(m.Problems) == 0 || m.Problems[0].Kind != "hash" {
		t.Errorf("the hub on the shared store says of the tampered mirror: %+v", m)
	}
	if passes, _ := st.Passes(t.Context(), 0); len(passes) < 3 {
		t.Errorf("passes after the hub's first = %d, want the checkers' and the hub's", len(passes))
	}
}

// TestHubsShareTheChecking: of two hubs on one PostgreSQL store, one
// checks and the other redirects from its results; when the checking hub
// dies, the other takes the checking over once the lease runs out.
func TestHubsShareTheChecking(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	dsn := pgtest.Shared(t).DSN(t)
	cfg := goodAndTamperedHub(t, n, fmt.Sprintf("driver = \"postgres\"\ndsn = %q", dsn), "300ms")

	addrA := freeAddr(t)
	a := exec.Command(pandoBin, "hub", "--config", cfg, "--listen", addrA)
	errA := &buftest.Buffer{}
	a.Stderr = errA
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Process.Kill(); a.Wait() })
	hubA := "http://" + addrA + "/"
	waitPasses(t, hubA, 1, errA)
	hubB, _ := runHubProcess(t, cfg)

	var stA, stB struct{ Hub, Checker string }
	if err := hubJSON(hubA+"api/v1/status", &stA); err != nil {
		t.Fatal(err)
	}
	if err := hubJSON(hubB+"api/v1/status", &stB); err != nil {
		t.Fatal(err)
	}
	if stA.Checker != stA.Hub || stB.Checker != stA.Hub || stB.Hub == stA.Hub {
		t.Fatalf("hub A %+v, hub B %+v: want A checking and B following it", stA, stB)
	}
	for hub, want := range map[string]float64{hubA: 1, hubB: 0} {
		if v, ok := metricValue(scrape(t, hub), "pando_hub_checker", nil); !ok || v != want {
			t.Errorf("%s: pando_hub_checker = %v (present %v), want %v", hub, v, ok, want)
		}
	}
	// B redirects from A's results: to the good mirror, never the tampered one.
	for _, p := range []string{"pool/a/alpha_1.0.tar.gz", "pool/b/beta_2.0.tar.gz"} {
		resp, err := noRedirects.Get(hubB + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var list struct{ Mirrors []struct{ Name string } }
		if err := hubJSON(hubB+p+"?mirrorlist=json", &list); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusFound || len(list.Mirrors) == 0 || list.Mirrors[0].Name != "good" {
			t.Errorf("hub B on %s: %s, mirror list %+v; want a redirect to good", p, resp.Status, list)
		}
	}

	a.Process.Kill()
	waitFor(t, "hub B to take the checking over", func() bool {
		var st struct{ Hub, Checker string }
		return hubJSON(hubB+"api/v1/status", &st) == nil && st.Checker == st.Hub
	}, errA)
}
