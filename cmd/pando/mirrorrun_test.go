package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/store"
)

// TestMirrorRun runs the agent as an operator would: it syncs from a real
// pando serve, follows a new publish, serves the tree, reports what it
// served to the hub's real intake, exposes metrics that move, and exits 0
// on SIGTERM after its last report.
func TestMirrorRun(t *testing.T) {
	n := newNetwork(t, map[string]string{"pool/a.jar": "jar a v1", "pool/b.jar": "jar b"})
	hub := newStatsHub(t, map[string]string{"m1": "tok-m1"})
	token := filepath.Join(n.dir, "m1.token")
	if err := os.WriteFile(token, []byte("tok-m1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(n.dir, "mirror")
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(pandoBin, "mirror", "run", "--upstream", n.url, "--root", root, "--pubkey", n.pub,
		"--listen", addr, "--metrics-listen", metricsAddr, "--interval", "100ms",
		"--hub", hub.srv.URL, "--mirror", "m1", "--token-file", token, "--report-interval", "1h")
	var errb buftest.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	base, metricsBase := "http://"+addr+"/", "http://"+metricsAddr+"/"

	waitFor(t, "the first sync", func() bool { return headOK(base + "pool/b.jar") }, &errb)
	writeFiles(t, n.origin, map[string]string{"pool/a.jar": "jar a v2", "pool/c.jar": "jar c"})
	n.publish(t)
	// Files are in place before the run that installed them ends: wait
	// for the run itself.
	waitFor(t, "the new publish", func() bool {
		v, _ := metricValue(scrape(t, metricsBase), "pando_sync_records", nil)
		return v == 4
	}, &errb)
	if got := string(readURL(t, base+"pool/a.jar")); got != "jar a v2" {
		t.Errorf("pool/a.jar after the publish = %q", got)
	}
	times(t, 2, base+"pool/c.jar")
	n.verify(t, root)

	fams := scrape(t, metricsBase)
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"pando_sync_runs_total", map[string]string{"result": "synced"}, 2},
		{"pando_sync_bytes_total", nil, float64(len("jar a v1jar bjar a v2jar c"))},
		{"pando_sync_records", nil, 4},
		{"pando_http_requests_total", map[string]string{"kind": "file", "result": "2xx"}, 3},
	} {
		if v, ok := metricValue(fams, c.name, c.labels); !ok || v < c.min {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.name, c.labels, v, ok, c.min)
		}
	}

	// The report interval is an hour: only the report sent on SIGTERM counts them.
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("pando mirror run after SIGTERM: %v\n%s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("pando mirror run did not stop on SIGTERM\n%s", errb.String())
	}
	day := time.Now().UTC().Format(store.StatsDayLayout)
	res, err := hub.st.QueryStats(t.Context(), store.StatsQuery{From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range res.Rows {
		got[r.Mirror+":"+r.Path] += r.Downloads
	}
	if len(got) != 2 || got["m1:pool/a.jar"] != 1 || got["m1:pool/c.jar"] != 2 {
		t.Errorf("downloads counted by the hub = %v, want m1:pool/a.jar 1, m1:pool/c.jar 2\n%s", got, errb.String())
	}
	if !strings.Contains(errb.String(), "synced") {
		t.Errorf("the agent's log names no sync:\n%s", errb.String())
	}
}

func TestMirrorRunUsage(t *testing.T) {
	n := newNetwork(t, map[string]string{"a": "a"})
	root := filepath.Join(n.dir, "m")
	token := filepath.Join(n.dir, "tok")
	os.WriteFile(token, []byte("tok\n"), 0o600)
	base := []string{"mirror", "run", "--upstream", n.url, "--root", root, "--pubkey", n.pub}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mirror", "run", "--root", root}, 2, "need --upstream"},
		{append(base, "--interval", "0s"), 2, "positive durations"},
		{append(base, "--hub", "http://127.0.0.1:1/"), 2, "--hub needs --mirror and --token-file"},
		{append(base, "--mirror", "m1"), 2, "go with --hub"},
		{append(base, "--hub", "http://127.0.0.1:1/", "--mirror", "M 1", "--token-file", token, "--listen", "127.0.0.1:0"), 2, `--mirror "M 1"`},
		{append(base, "--hub", "http://127.0.0.1:1/", "--mirror", "m1", "--token-file", token), 2, "needs --access-log"},
		{append(base, "--hub", "ftp://x/", "--mirror", "m1", "--token-file", token, "--listen", "127.0.0.1:0"), 2, "--hub"},
		{append(base, "--tls-cert", "c.pem", "--tls-key", "k.pem"), 2, "--tls-cert needs --listen"},
		{append(base, "--log-format", "json"), 2, "--log-format"},
		{append(base, "--listen", "127.0.0.1:1", "--hub", "http://127.0.0.1:1/", "--mirror", "m1",
			"--token-file", filepath.Join(n.dir, "none")), 1, "token file"},
		{append(base, "--listen", "256.0.0.1:80"), 1, "listen on 256.0.0.1:80"},
	} {
		r := pando(t, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("pando %s: exit %d, stderr %q; want exit %d naming %q",
				strings.Join(c.args[2:], " "), r.code, r.stderr, c.code, c.want)
		}
	}
}

// headOK reports whether a HEAD of url answers 200 (HEADs are not downloads).
func headOK(url string) bool {
	resp, err := http.Head(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func readURL(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.Bytes()
}

// TestMirrorRunHangup: SIGHUP makes the agent sync at once, with an hour
// to go before its next scheduled run.
func TestMirrorRunHangup(t *testing.T) {
	n := newNetwork(t, map[string]string{"a.txt": "a"})
	root := filepath.Join(n.dir, "mirror")
	addr := freeAddr(t)
	cmd := exec.Command(pandoBin, "mirror", "run", "--upstream", n.url, "--root", root, "--pubkey", n.pub,
		"--listen", addr, "--interval", "1h")
	var errb buftest.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr + "/"
	waitFor(t, "the first sync", func() bool { return headOK(base + "a.txt") }, &errb)
	writeFiles(t, n.origin, map[string]string{"b.txt": "b"})
	n.publish(t)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the sync SIGHUP asked for", func() bool { return headOK(base + "b.txt") }, &errb)
	if !strings.Contains(errb.String(), "SIGHUP: passed it on to the agent") {
		t.Errorf("the agent's log does not name the hangup:\n%s", errb.String())
	}
}
