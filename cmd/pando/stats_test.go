package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/stats"
	"github.com/pando-mirror/pando/internal/store"
)

// statsCmd runs "pando stats args..." in-process.
func statsCmd(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errb buftest.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	code = run(ctx, e, append([]string{"stats"}, args...))
	return code, out.String(), errb.String()
}

// statsHub stands in for the hub's HTTP wiring: the stats intake, query
// and CSV handlers over a real SQLite file, and a redirector that sends
// /dl/MIRROR/PATH to that mirror and counts the redirect.
type statsHub struct {
	srv     *httptest.Server
	st      store.Store
	counter *stats.Counter

	mu      sync.Mutex
	mirrors map[string]string // name -> base URL ending in "/"
	onStore func()            // if set, called once a batch is stored; the answer is then never sent
	bodies  [][]byte          // every batch posted
}

func newStatsHub(t *testing.T, tokens map[string]string) *statsHub {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &statsHub{st: st, counter: stats.NewCounter(st, "", nil), mirrors: map[string]string{}}
	lookup := func(m string) (string, bool) { tok, ok := tokens[m]; return tok, ok }
	intake := stats.IntakeHandler(st, lookup, time.Now)
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/stats", h.recordIntake(intake))
	mux.Handle("GET /api/v1/stats", stats.QueryHandler(st, time.Now))
	mux.Handle("GET /stats.csv", stats.CSVHandler(st, time.Now))
	mux.HandleFunc("GET /dl/{mirror}/{path...}", h.redirect)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *statsHub) setMirror(name, base string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mirrors[name] = base
}

func (h *statsHub) redirect(w http.ResponseWriter, r *http.Request) {
	name, p := r.PathValue("mirror"), r.PathValue("path")
	h.mu.Lock()
	base, ok := h.mirrors[name]
	h.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.counter.Count(p, name, "DE")
	http.Redirect(w, r, base+p, http.StatusFound)
}

// recordIntake keeps every body posted and, when onStore is set, lets the
// batch be stored and then never answers, as a run killed after sending
// and before its answer arrived would see it.
func (h *statsHub) recordIntake(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		hook := h.onStore
		h.onStore = nil
		h.mu.Unlock()
		if hook == nil {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(httptest.NewRecorder(), r)
		hook()
		<-r.Context().Done()
	})
}

// fetch downloads url (following redirects) and wants status.
func fetch(t *testing.T, method, url string, status int, hdr ...string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d", method, url, resp.StatusCode, status)
	}
}

// times fetches url n times.
func times(t *testing.T, n int, url string) {
	t.Helper()
	for range n {
		fetch(t, "GET", url, 200)
	}
}

// waitLines waits until the log has n lines: pando serve writes a request's
// line just after answering it.
func waitLines(t *testing.T, name string, n int) {
	t.Helper()
	got := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(name)
		if got = bytes.Count(data, []byte("\n")); got >= n {
			return
		}
	}
	t.Fatalf("%s has %d lines, want %d", name, got, n)
}

func statsTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"pool/a.jar":        "jar a",
		"pool/b.jar":        "jar b",
		".pando/checkpoint": "checkpoint\n",
	})
	randomFile(t, root, "iso/c.iso", 100_000)
	return root
}

// TestStatsEndToEnd: downloads through the hub and straight from two
// mirrors, one of which reports with pando stats ingest over its real
// pando serve log, across a rotation, garbage lines, a run killed after
// sending, a replayed batch and a token used for another mirror, add up
// exactly.
func TestStatsEndToEnd(t *testing.T) {
	root := statsTree(t)
	dir := t.TempDir()
	hub := newStatsHub(t, map[string]string{"a": "tok-a", "c": "tok-c"}) // b sends no reports
	tokA := filepath.Join(dir, "a.token")
	os.WriteFile(tokA, []byte("tok-a\n"), 0o600)
	alog, blog := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	a := startServeCmd(t, "--root", root, "--access-log", alog)
	b := startServeCmd(t, "--root", root, "--access-log", blog)
	aURL, bURL := "http://"+a.addr+"/", "http://"+b.addr+"/"
	hub.setMirror("a", aURL)
	hub.setMirror("b", bURL)
	dl := hub.srv.URL + "/dl/"
	ingest := []string{"ingest", "--log", alog, "--format", "pando", "--hub", hub.srv.URL, "--mirror", "a", "--token-file", tokA, "--quiet", "--json"}

	// Phase 1: through the hub and directly, and requests that are no downloads.
	times(t, 5, dl+"a/pool/a.jar")
	times(t, 3, dl+"b/pool/b.jar")
	times(t, 2, dl+"a/iso/c.iso")
	times(t, 4, aURL+"pool/a.jar")
	times(t, 2, bURL+"iso/c.iso")
	fetch(t, "HEAD", aURL+"pool/a.jar", 200)
	fetch(t, "GET", aURL+"pool/none.jar", 404)
	fetch(t, "GET", aURL+".pando/checkpoint", 200)
	fetch(t, "GET", aURL+"pool/", 200)
	fetch(t, "GET", aURL+"iso/c.iso", 206, "Range", "bytes=0-99")
	waitLines(t, alog, 16)
	code, out, errOut := statsCmd(t.Context(), ingest...)
	if code != 0 || !strings.Contains(out, `"downloads":11,`) || !strings.Contains(out, `"lines":16,`) {
		t.Fatalf("first ingest: exit %d\n%s%s", code, out, errOut)
	}

	// Phase 2: more downloads, then the log is rotated (a new server on a
	// new file) with garbage in both files, the old one ending mid-line.
	times(t, 1, dl+"a/pool/a.jar")
	times(t, 2, aURL+"iso/c.iso")
	waitLines(t, alog, 19)
	a.stop()
	if err := os.Rename(alog, alog+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, alog+".1", "garbage line\n\x00\x01\x02\n127.0.0.1 - - [bad time] \"GET /pool/a.jar HTTP/1.1\" 200 5 \"-\" \"-\"\nhalf a li")
	a = startServeCmd(t, "--root", root, "--access-log", alog)
	aURL = "http://" + a.addr + "/"
	hub.setMirror("a", aURL)
	times(t, 2, dl+"a/pool/b.jar")
	waitLines(t, alog, 2)
	appendFile(t, alog, "not a log line at all\n")
	times(t, 1, aURL+"pool/a.jar")
	waitLines(t, alog, 4)
	code, out, errOut = statsCmd(t.Context(), ingest...)
	if code != 0 || !strings.Contains(out, `"downloads":6,`) || !strings.Contains(out, `"malformed":5,`) ||
		!strings.Contains(out, `"files":["`+alog+`.1","`+alog+`"]`) {
		t.Fatalf("ingest after rotation: exit %d\n%s%s", code, out, errOut)
	}

	// Phase 3: the run is killed after the hub stored its batch but before
	// the answer arrived; the next run sends it again and it counts once.
	times(t, 1, dl+"a/iso/c.iso")
	times(t, 1, aURL+"iso/c.iso")
	waitLines(t, alog, 6)
	ctx, cancel := context.WithCancel(t.Context())
	hub.mu.Lock()
	hub.onStore = cancel
	hub.mu.Unlock()
	if code, out, errOut := statsCmd(ctx, ingest...); code != 1 || !strings.Contains(errOut, "context canceled") {
		t.Fatalf("killed ingest: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = statsCmd(t.Context(), ingest...)
	if code != 0 || !strings.Contains(out, `"already_counted":1,`) || !strings.Contains(out, `"batches":1,`) {
		t.Fatalf("ingest after the killed one: exit %d\n%s%s", code, out, errOut)
	}

	// A replayed batch adds nothing; a's token cannot report for c.
	hub.mu.Lock()
	first := hub.bodies[0]
	hub.mu.Unlock()
	if code, body := statsPost(t, hub.srv.URL+"/api/v1/stats", "tok-a", first); code != 200 || !strings.Contains(body, `"already counted"`) {
		t.Errorf("replayed batch: %d %s", code, body)
	}
	forC := bytes.Replace(first, []byte(`"mirror":"a"`), []byte(`"mirror":"c"`), 1)
	if code, body := statsPost(t, hub.srv.URL+"/api/v1/stats", "tok-a", forC); code != 403 ||
		body != `{"error":"the token presented is not mirror \"c\"'s"}` {
		t.Errorf("a's token reporting for c: %d %s", code, body)
	}
	code, out, errOut = statsCmd(t.Context(), "ingest", "--log", blog, "--hub", hub.srv.URL, "--mirror", "c",
		"--token-file", tokA, "--state", filepath.Join(dir, "c.state"), "--quiet")
	if code != 1 || !strings.Contains(errOut, `hub answered 403 Forbidden: the token presented is not mirror "c"'s`) {
		t.Errorf("ingest as c with a's token: exit %d\n%s%s", code, out, errOut)
	}

	if err := hub.counter.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkStatsTotals(t, hub)
}

// checkStatsTotals: a.jar 11 (a's log: 6 redirected, 5 direct); b.jar 5
// (3 redirects to b, which does not report, and 2 in a's log); c.iso 6 (a's
// log; b's 2 direct downloads are seen by nobody).
func checkStatsTotals(t *testing.T, hub *statsHub) {
	t.Helper()
	today := stats.DayOf(time.Now())
	q := fmt.Sprintf("?from=%s&to=%s", today-1, today)
	var got struct {
		Total    int64            `json:"total"`
		BySource map[string]int64 `json:"by_source"`
		Days     []struct {
			Path      string `json:"path"`
			Downloads int64  `json:"downloads"`
			Redirects int64  `json:"redirects"`
		} `json:"days"`
	}
	resp, err := http.Get(hub.srv.URL + "/api/v1/stats" + q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	byPath, redirects := map[string]int64{}, map[string]int64{}
	for _, d := range got.Days {
		byPath[d.Path] += d.Downloads
		redirects[d.Path] += d.Redirects
	}
	want := map[string]int64{"pool/a.jar": 11, "pool/b.jar": 5, "iso/c.iso": 6}
	if fmt.Sprint(byPath) != fmt.Sprint(want) || got.Total != 22 || got.BySource["mirror"] != 19 || got.BySource["hub"] != 3 {
		t.Errorf("downloads %v total %d by source %v; want %v, 22, mirror 19 and hub 3", byPath, got.Total, got.BySource, want)
	}
	if want := map[string]int64{"pool/a.jar": 6, "pool/b.jar": 5, "iso/c.iso": 3}; fmt.Sprint(redirects) != fmt.Sprint(want) {
		t.Errorf("redirects %v, want %v", redirects, want)
	}
	resp, err = http.Get(hub.srv.URL + "/stats.csv" + q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var sum int64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		var n int64
		fmt.Sscan(line[strings.LastIndexByte(line, ',')+1:], &n)
		sum += n
	}
	if sum != 22 {
		t.Errorf("the CSV adds up to %d, want 22:\n%s", sum, data)
	}
}

func appendFile(t *testing.T, name, s string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func statsPost(t *testing.T, url, token string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(data))
}

func TestStatsDryRun(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(
		`192.0.2.1 - - [23/Nov/2025:10:00:00 +0000] "GET /pool/a%20b.jar HTTP/1.1" 200 5 "-" "curl/8"`+"\n"+
			`192.0.2.1 - - [23/Nov/2025:11:00:00 +0000] "GET /pool/a%20b.jar HTTP/1.1" 200 5 "-" "curl/8"`+"\n"+
			`192.0.2.1 - - [24/Nov/2025:00:30:00 +0100] "GET /iso/c.iso HTTP/1.1" 200 5 "-" "curl/8"`+"\n"+
			"junk\n"), 0o644)
	code, out, errOut := statsCmd(t.Context(), "ingest", "--log", log, "--dry-run", "--quiet")
	if want := "2025-11-23 1 iso/c.iso\n2025-11-23 2 pool/a b.jar\n"; code != 0 || out != want ||
		!strings.HasPrefix(errOut, "found (dry run, nothing sent) 3 downloads in 4 lines of "+log+" (1 batches, 0 already counted); skipped 1 malformed,") {
		t.Errorf("dry run: exit %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
	code, out, _ = statsCmd(t.Context(), "ingest", "--log", log, "--dry-run", "--json", "--quiet", "--mirror", "m")
	var b stats.Batch
	if err := json.Unmarshal([]byte(out), &b); code != 0 || err != nil || b.Mirror != "m" || len(b.Counts) != 2 {
		t.Errorf("dry run --json: exit %d, %v\n%s", code, err, out)
	}
	if _, err := os.Stat(log + ".pando-stats"); err == nil {
		t.Error("a dry run saved state")
	}
}

func TestStatsUsage(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, nil, 0o644)
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("two words\n"), 0o600)
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "need a subcommand: ingest\nrun \"pando stats --help\" for usage"},
		{[]string{"report"}, 2, "unknown subcommand \"report\"; want ingest\nrun \"pando stats --help\" for usage"},
		{[]string{"ingest"}, 2, "need --log FILE\nrun \"pando stats --help\" for usage"},
		{[]string{"ingest", "--log", log}, 2, "need --hub, --mirror and --token-file (or --dry-run)\nrun \"pando stats --help\" for usage"},
		{[]string{"ingest", "--log", log, "--format", "json", "--dry-run"}, 2,
			"--format: log format \"json\": want combined, common or pando\nrun \"pando stats --help\" for usage"},
		{[]string{"ingest", "--log", log, "--hub", "hub.example", "--mirror", "m", "--token-file", tok}, 2,
			"--hub: \"hub.example\": want an http:// or https:// URL\nrun \"pando stats --help\" for usage"},
		{[]string{"ingest", "--log", log, "--hub", "http://127.0.0.1:1/", "--mirror", "m", "--token-file", tok}, 1,
			"token file " + tok + ": want one token of up to 4096 bytes on one line"},
		{[]string{"ingest", "--log", log + ".missing", "--dry-run", "--quiet"}, 1,
			"log: open " + log + ".missing: no such file or directory"},
	} {
		code, _, errOut := statsCmd(t.Context(), tt.args...)
		if want := "pando stats: " + tt.msg + "\n"; code != tt.code || errOut != want {
			t.Errorf("pando stats %q: exit %d\n%s\nwant exit %d\n%s", tt.args, code, errOut, tt.code, want)
		}
	}
	code, _, errOut := statsCmd(t.Context(), "ingest", "--help")
	if code != 0 || !strings.HasPrefix(errOut, "Usage: pando stats ingest --log FILE") || !strings.Contains(errOut, "-count-partial") {
		t.Errorf("pando stats ingest --help: exit %d\n%s", code, errOut)
	}
}

func TestStatsEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://hub.example.org":              "https://hub.example.org/api/v1/stats",
		"https://hub.example.org/":             "https://hub.example.org/api/v1/stats",
		"http://127.0.0.1:8080/pando/":         "http://127.0.0.1:8080/pando/api/v1/stats",
		"https://hub.example.org/api/v1/stats": "https://hub.example.org/api/v1/stats",
	} {
		if got, err := statsEndpoint(in); err != nil || got != want {
			t.Errorf("statsEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
