package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/mirror"
	"github.com/pando-mirror/pando/internal/publish"
	"github.com/pando-mirror/pando/internal/safefile"
	"github.com/pando-mirror/pando/internal/safefile/casetest"
	"github.com/pando-mirror/pando/internal/serve"
	"github.com/pando-mirror/pando/internal/stats"
	"github.com/pando-mirror/pando/internal/store"
	"github.com/pando-mirror/pando/internal/verify"

	"github.com/pando-mirror/pando/internal/keytest"
)

// origin is a published tree served over HTTP on loopback. While down is
// set it answers 503 to everything.
type origin struct {
	dir      string
	signer   note.Signer
	verifier note.Verifier
	url      string
	down     atomic.Bool
}

func newOrigin(t *testing.T, files map[string]string) *origin {
	t.Helper()
	o := &origin{dir: t.TempDir()}
	o.signer, o.verifier = keytest.New(t, "agent.test")
	o.publish(t, files)
	root, err := os.OpenRoot(o.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	o.url = serveDownable(t, serve.Handler(root, serve.Options{}), &o.down) + "/"
	return o
}

// serveDownable serves h on loopback, answering 503 while down is set, and
// returns its URL.
func serveDownable(t *testing.T, h http.Handler, down *atomic.Bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// publish writes files (an empty content removes the file) and publishes.
func (o *origin) publish(t *testing.T, files map[string]string) int64 {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(o.dir, filepath.FromSlash(name))
		if content == "" {
			os.Remove(p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := publish.Publish(t.Context(), publish.Options{Root: o.dir, Signer: o.signer, Verifier: o.verifier})
	if err != nil {
		t.Fatal(err)
	}
	return res.After
}

// hub is a stats intake over an in-memory store, for the mirror "m1" with
// token "secret". While down is set it answers 503.
type hub struct {
	st   *store.Memory
	url  string
	down atomic.Bool
}

func newHub(t *testing.T) *hub {
	t.Helper()
	h := &hub{st: store.NewMemory()}
	intake := stats.IntakeHandler(h.st, func(m string) (string, bool) { return "secret", m == "m1" }, nil)
	h.url = serveDownable(t, intake, &h.down) + "/api/v1/stats"
	return h
}

// downloads returns the downloads of each path the hub has counted.
func (h *hub) downloads(t *testing.T) map[string]int64 {
	t.Helper()
	day := time.Now().UTC().Format(store.StatsDayLayout)
	res, err := h.st.QueryStats(t.Context(), store.StatsQuery{From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range res.Rows {
		if r.Mirror != "m1" {
			t.Errorf("count for mirror %q, want m1", r.Mirror)
		}
		got[r.Path] += r.Downloads
	}
	return got
}

// running is an agent run in the background.
type running struct {
	url     string // where it serves the tree
	metrics *metrics.Agent
	cancel  context.CancelFunc
	done    chan error
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startAgent runs an agent with o, serving on a fresh loopback port.
func startAgent(t *testing.T, o Options) *running {
	t.Helper()
	ln := listen(t)
	r := &running{url: "http://" + ln.Addr().String() + "/", metrics: metrics.NewAgent(), done: make(chan error, 1)}
	o.Listener, o.Metrics = ln, r.metrics
	ctx, cancel := context.WithCancel(t.Context())
	r.cancel = cancel
	go func() { r.done <- Run(ctx, o) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends the agent and wants Run to return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not stop within 30s")
	}
}

// eventually polls cond every 20 ms for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// count returns the value of the series name with the given label pairs
// (summed over the series that match), 0 if there is none.
func count(r *running, name string, labels ...string) float64 {
	mfs, err := r.metrics.Registry().Gather()
	if err != nil {
		panic(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m.GetLabel(), labels) {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func hasLabels(have []*dto.LabelPair, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range have {
			found = found || l.GetName() == want[i] && l.GetValue() == want[i+1]
		}
		if !found {
			return false
		}
	}
	return true
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func syncOptions(o *origin, root string) mirror.Options {
	return mirror.Options{Root: root, Upstreams: []string{o.url}, Verifier: o.verifier, Jobs: 4}
}

func TestAgentSyncsServesAndReports(t *testing.T) {
	o := newOrigin(t, map[string]string{"a.txt": "version 1\n", "pool/b.bin": "bbbb"})
	h := newHub(t)
	root := filepath.Join(t.TempDir(), "mirror")
	opts := Options{
		Sync: syncOptions(o, root), Interval: 50 * time.Millisecond,
		Report: &Report{Mirror: "m1", Interval: 50 * time.Millisecond,
			Sender: &stats.Client{URL: h.url, Token: "secret", Attempts: 1}},
	}
	a := startAgent(t, opts)
	waitRecords(t, a, 2)

	// A new publish reaches the mirror at the next scheduled run.
	n := o.publish(t, map[string]string{"a.txt": "version 2\n", "c.txt": "new\n"})
	waitRecords(t, a, n)
	if code, body := get(t, "GET", a.url+"a.txt"); code != 200 || body != "version 2\n" {
		t.Fatalf("GET a.txt = %d %q, want the new version", code, body)
	}
	rep, err := verify.Tree(t.Context(), root, o.verifier, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after the scheduled sync: %v %+v", err, rep)
	}

	// Downloads while the hub is down are reported once it is back.
	h.down.Store(true)
	get(t, "GET", a.url+"a.txt")
	get(t, "GET", a.url+"a.txt")
	get(t, "HEAD", a.url+"c.txt")            // not a download
	get(t, "GET", a.url+".pando/checkpoint") // metadata, not a download
	get(t, "GET", a.url+"missing.txt")       // 404
	eventually(t, "a failed report", func() bool { return reports(a, "failed") > 0 })
	h.down.Store(false)
	eventually(t, "the downloads reported", func() bool { return h.downloads(t)["a.txt"] == 3 })

	// A restarted agent goes on where the last one stopped.
	a.stop(t)
	a = startAgent(t, opts)
	get(t, "GET", a.url+"c.txt")
	get(t, "GET", a.url+"pool/b.bin")
	a.stop(t) // the last report goes out as it stops
	want := map[string]int64{"a.txt": 3, "c.txt": 1, "pool/b.bin": 1}
	if got := h.downloads(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("downloads counted by the hub = %v, want %v", got, want)
	}
}

func TestAgentMetricsMove(t *testing.T) {
	o := newOrigin(t, map[string]string{"a.txt": "12345678"})
	a := startAgent(t, Options{Sync: syncOptions(o, filepath.Join(t.TempDir(), "m")), Interval: 50 * time.Millisecond})
	waitRecords(t, a, 1)
	get(t, "GET", a.url+"a.txt")
	get(t, "GET", a.url+".pando/checkpoint")
	get(t, "GET", a.url)
	get(t, "GET", a.url+"nope")
	eventually(t, "an up-to-date run", func() bool { return count(a, "pando_sync_runs_total", "result", "up_to_date") > 0 })
	checks := []struct {
		name      string
		got, want float64
	}{
		{"synced runs", count(a, "pando_sync_runs_total", "result", "synced"), 1},
		{"bytes synced", count(a, "pando_sync_bytes_total"), 8},
		{"files fetched", count(a, "pando_sync_files_total", "action", "fetched"), 1},
		{"file requests 2xx", count(a, "pando_http_requests_total", "kind", "file", "result", "2xx"), 1},
		{"file requests 4xx", count(a, "pando_http_requests_total", "kind", "file", "result", "4xx"), 1},
		{"log requests", count(a, "pando_http_requests_total", "kind", "log", "result", "2xx"), 1},
		{"listing requests", count(a, "pando_http_requests_total", "kind", "listing", "result", "2xx"), 1},
		{"records", count(a, "pando_sync_records"), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if last := count(a, "pando_sync_last_success_timestamp_seconds"); time.Since(time.Unix(int64(last), 0)) > time.Minute {
		t.Errorf("last success at %v, want about now", last)
	}
}

func TestAgentRetriesFailedSync(t *testing.T) {
	o := newOrigin(t, map[string]string{"a.txt": "a"})
	o.down.Store(true)
	// An hour between scheduled runs: only the retries can bring the mirror up.
	a := startAgent(t, Options{Sync: syncOptions(o, filepath.Join(t.TempDir(), "m")),
		Interval: time.Hour, RetryMin: 20 * time.Millisecond})
	eventually(t, "two failed runs", func() bool { return count(a, "pando_sync_runs_total", "result", "failed") >= 2 })
	if code, _ := get(t, "GET", a.url+"a.txt"); code != http.StatusNotFound {
		t.Errorf("GET a.txt before any sync = %d, want 404", code)
	}
	o.down.Store(false)
	waitRecords(t, a, 1)
	if code, body := get(t, "GET", a.url+"a.txt"); code != 200 || body != "a" {
		t.Errorf("GET a.txt after the retry = %d %q", code, body)
	}
}

func TestAgentSkipsRunWhileLocked(t *testing.T) {
	o := newOrigin(t, map[string]string{"a.txt": "a"})
	root := filepath.Join(t.TempDir(), "m")
	if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(logdir.LocalDir)), 0o755); err != nil {
		t.Fatal(err)
	}
	lk, err := safefile.TryLock(filepath.Join(root, filepath.FromSlash(logdir.LockPath)), "a sync by hand")
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, Options{Sync: syncOptions(o, root), Interval: 20 * time.Millisecond})
	eventually(t, "a skipped run", func() bool { return count(a, "pando_sync_runs_total", "result", "locked") > 0 })
	if n := count(a, "pando_sync_runs_total", "result", "failed"); n != 0 {
		t.Errorf("failed runs while locked = %v, want 0", n)
	}
	lk.Unlock()
	waitRecords(t, a, 1)
}

func TestRunRefusesBadOptions(t *testing.T) {
	send := &stats.Client{URL: "http://127.0.0.1:1/api/v1/stats"}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{}, "no tree"},
		{Options{Sync: mirror.Options{Root: t.TempDir()}, Interval: -time.Second}, "negative sync interval"},
		{Options{Sync: mirror.Options{Root: t.TempDir()}, Report: &Report{Mirror: "M 1", Sender: send}}, `mirror name "M 1"`},
		{Options{Sync: mirror.Options{Root: t.TempDir()}, Report: &Report{Mirror: "m1"}}, "needs a sender"},
		{Options{Sync: mirror.Options{Root: t.TempDir()}, Report: &Report{Mirror: "m1", Sender: send}}, "needs its access log"},
	} {
		err := Run(t.Context(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%+v) = %v, want an error saying %q", c.o, err, c.want)
		}
	}
	// A listener handed to a Run that cannot start is closed.
	ln := listen(t)
	if err := Run(t.Context(), Options{Listener: ln}); err == nil {
		t.Fatal("Run without a tree succeeded")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on the listener after a failed Run: %v, want it closed", err)
	}
}

func waitRecords(t *testing.T, a *running, n int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("the mirror at %d records", n), func() bool {
		return count(a, "pando_sync_records") == float64(n)
	})
}

func reports(a *running, result string) float64 {
	return count(a, "pando_stats_reports_total", "result", result)
}

// TestAgentHangup: a hangup reopens the access log the agent writes and
// syncs at once, without waiting for the schedule.
func TestAgentHangup(t *testing.T) {
	o := newOrigin(t, map[string]string{"a.txt": "a"})
	root := filepath.Join(t.TempDir(), "m")
	logName := filepath.Join(t.TempDir(), "access.log")
	hangup := make(chan struct{}, 1)
	a := startAgent(t, Options{Sync: syncOptions(o, root), Interval: time.Hour, AccessLog: logName, Hangup: hangup})
	waitRecords(t, a, 1)
	get(t, "GET", a.url+"a.txt")
	if err := os.Rename(logName, logName+".moved"); err != nil {
		t.Fatal(err)
	}
	n := o.publish(t, map[string]string{"b.txt": "b"})
	hangup <- struct{}{}
	waitRecords(t, a, n)
	if code, body := get(t, "GET", a.url+"b.txt"); code != 200 || body != "b" {
		t.Fatalf("GET b.txt after the hangup's sync = %d %q", code, body)
	}
	eventually(t, "the line in the reopened log", func() bool {
		b, _ := os.ReadFile(logName)
		return strings.Contains(string(b), "GET /b.txt ")
	})
	old, _ := os.ReadFile(logName + ".moved")
	if !strings.Contains(string(old), "GET /a.txt ") || strings.Contains(string(old), "b.txt") {
		t.Errorf("the moved log holds %q; want the line from before the hangup only", old)
	}
}

// TestAgentStopsOnCaseInsensitiveTree checks that an agent whose tree is
// on a file system that folds case stops with the sync's refusal rather
// than retrying forever.
func TestAgentStopsOnCaseInsensitiveTree(t *testing.T) {
	o := newOrigin(t, map[string]string{"a.txt": "a\n"})
	root := filepath.Join(t.TempDir(), "m")
	casetest.Fold(t, root)
	ln := listen(t)
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), Options{Listener: ln, Sync: syncOptions(o, root), Interval: 50 * time.Millisecond,
			RetryMin: 10 * time.Millisecond})
	}()
	select {
	case err := <-done:
		var ce *mirror.CaseError
		if !errors.As(err, &ce) || ce.Root != root {
			t.Errorf("Run: %v; want the tree's mirror.CaseError", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent kept running on a case-folding tree")
	}
	if _, err := os.Stat(filepath.Join(root, "a.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a.txt in the tree: %v; want nothing synced", err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the agent still serves after stopping")
	}
}
