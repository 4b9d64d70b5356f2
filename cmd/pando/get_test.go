package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run "pando get" against an origin and mirrors made and served
// by the real binary, with a fake hub (the mirror list JSON) and fronts that
// log, corrupt or cut what a mirror serves.

const target = "pool/new/target.bin"

// getNetwork is an origin with many records, a file published last, and
// mirrors synced from it and served.
type getNetwork struct {
	*network
	mirrors []string // base URLs, ending in "/"
	data    []byte   // the target's bytes
}

func newGetNetwork(t *testing.T, mirrors int) *getNetwork {
	t.Helper()
	files := make(map[string]string)
	for i := 0; i < 700; i++ {
		files[fmt.Sprintf("pool/main/p/package-%03d/package-%03d_1.0.%d-with-a-long-version_amd64.deb", i, i, i)] = strconv.Itoa(i)
	}
	g := &getNetwork{network: newNetwork(t, files)}
	randomFile(t, g.origin, target, 300_000)
	g.publish(t)
	g.data = readFile(t, g.origin, target)
	for i := 0; i < mirrors; i++ {
		root := filepath.Join(g.dir, fmt.Sprintf("m%d", i+1))
		if r := g.sync(t, g.url, root); r.code != 0 {
			t.Fatalf("sync mirror %d: %s", i+1, r.stderr)
		}
		g.mirrors = append(g.mirrors, startServe(t, root))
	}
	return g
}

// logged is one request a front saw.
type logged struct {
	path, query, rng string
}

// front is a loopback server before a mirror: it lets override answer the
// requests it wants, proxies the rest, and logs them all.
type front struct {
	url  string
	mu   sync.Mutex
	reqs []logged
}

func startFront(t *testing.T, backend string, override func(w http.ResponseWriter, r *http.Request) bool) *front {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	f := &front{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, logged{r.URL.Path, r.URL.RawQuery, r.Header.Get("Range")})
		f.mu.Unlock()
		if override == nil || !override(w, r) {
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/"
	return f
}

func (f *front) requests(prefix string) []logged {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []logged
	for _, r := range f.reqs {
		if strings.HasPrefix(r.path, prefix) && r.query == "" {
			out = append(out, r)
		}
	}
	return out
}

// serveBytes answers a request for p with data (Range and all) instead of
// what the mirror holds.
func serveBytes(p string, data []byte) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/"+p || r.URL.RawQuery != "" {
			return false
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return true
	}
}

func flipped(data []byte) []byte {
	b := bytes.Clone(data)
	b[len(b)/2] ^= 0x40
	return b
}

// hubList is the mirror list a hub serves for one path.
type hubList struct {
	Path    string      `json:"path"`
	Size    int64       `json:"size"`
	SHA256  string      `json:"sha256"`
	Mirrors []hubMirror `json:"mirrors"`
}

type hubMirror struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Country  string `json:"country"`
	Priority int    `json:"priority"`
}

// startHub starts a fake hub that answers GET /p?mirrorlist=json with list
// and redirects other requests for /p to the first mirror, as a redirector
// would.
func startHub(t *testing.T, list hubList) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+list.Path {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("mirrorlist") == "json" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(list)
			return
		}
		http.Redirect(w, r, list.Mirrors[0].URL, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// listFor returns a truthful mirror list of the target on the given trees.
func (g *getNetwork) listFor(trees ...string) hubList {
	sum := sha256.Sum256(g.data)
	l := hubList{Path: target, Size: int64(len(g.data)), SHA256: hex.EncodeToString(sum[:])}
	for i, tree := range trees {
		l.Mirrors = append(l.Mirrors, hubMirror{Name: fmt.Sprintf("m%d", i+1), URL: tree + target, Country: "DE", Priority: i + 1})
	}
	return l
}

// getSummary is what "pando get --json" prints.
type getSummary struct {
	Path       string  `json:"path"`
	Size       int64   `json:"size"`
	SHA256     string  `json:"sha256"`
	Record     int64   `json:"record"`
	Records    int64   `json:"records"`
	MirrorUsed string  `json:"mirror_used"`
	Seconds    float64 `json:"seconds"`
	Tiles      int     `json:"tiles"`
	Journal    int64   `json:"journal_bytes"`
	Tried      []struct {
		URL   string `json:"url"`
		Step  string `json:"step"`
		Error string `json:"error"`
	} `json:"tried"`
	Error string `json:"error"`
}

func parseSummary(t *testing.T, out string) getSummary {
	t.Helper()
	var s getSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	return s
}

// noOutput fails the test if the output file or its .part exists.
func noOutput(t *testing.T, out string) {
	t.Helper()
	for _, name := range []string{out, out + ".part"} {
		if _, err := os.Stat(name); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed get (%v)", name, err)
		}
	}
}

// TestGetHappyPath is (a) and (h): the file is proved with tiles and the
// journal's tail only, downloaded from the hub's first mirror, and the
// --json summary says so.
func TestGetHappyPath(t *testing.T) {
	g := newGetNetwork(t, 2)
	m1 := startFront(t, g.mirrors[0], nil)
	hub := startHub(t, g.listFor(m1.url, g.mirrors[1]))
	out := filepath.Join(t.TempDir(), "target.bin")

	r := mustPando(t, "get", hub+target, "--pubkey", g.pub, "-o", out, "--json", "--quiet")
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, g.data) {
		t.Fatalf("output differs from the published file (%v)", err)
	}
	if _, err := os.Stat(out + ".part"); !os.IsNotExist(err) {
		t.Errorf(".part left behind: %v", err)
	}
	s := parseSummary(t, r.stdout)
	sum := sha256.Sum256(g.data)
	if s.Path != target || s.Size != int64(len(g.data)) || s.SHA256 != hex.EncodeToString(sum[:]) ||
		s.Record != 700 || s.Records != 701 || s.MirrorUsed != m1.url+target || s.Seconds <= 0 {
		t.Errorf("summary %+v", s)
	}
	if len(s.Tried) != 2 || s.Tried[0].Step != "verify" || s.Tried[1].Step != "download" || s.Tried[1].URL != m1.url+target || s.Tried[1].Error != "" {
		t.Errorf("tried %+v, want a verification and a download at the first mirror", s.Tried)
	}

	if tiles := m1.requests("/.pando/tile/"); len(tiles) == 0 || s.Tiles != len(tiles) {
		t.Errorf("%d tile requests, summary says %d: the record was not proved with tiles", len(tiles), s.Tiles)
	}
	journalSize := int64(len(readFile(t, g.origin, ".pando/journal")))
	js := m1.requests("/.pando/journal")
	if len(js) == 0 || s.Journal >= journalSize {
		t.Fatalf("journal: %d requests, %d of %d bytes read", len(js), s.Journal, journalSize)
	}
	for _, j := range js {
		if !strings.HasPrefix(j.rng, "bytes=-") {
			t.Errorf("journal request with Range %q: the whole journal or its start was fetched", j.rng)
		}
	}
	if n := len(m1.requests("/" + target)); n != 1 {
		t.Errorf("%d downloads of the file, want 1", n)
	}
}

// TestGetFallsBack is (b): the hub's best mirror serves flipped bytes; the
// next one's verify.
func TestGetFallsBack(t *testing.T) {
	g := newGetNetwork(t, 2)
	bad := startFront(t, g.mirrors[0], serveBytes(target, flipped(g.data)))
	hub := startHub(t, g.listFor(bad.url, g.mirrors[1]))
	out := filepath.Join(t.TempDir(), "target.bin")

	r := mustPando(t, "get", "--pubkey", g.pub, "-o", out, "--json", "--quiet", hub+target)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, g.data) {
		t.Fatal("output differs from the published file")
	}
	s := parseSummary(t, r.stdout)
	if s.MirrorUsed != g.mirrors[1]+target {
		t.Errorf("mirror used %s, want the second", s.MirrorUsed)
	}
	if len(s.Tried) != 3 || !strings.Contains(s.Tried[1].Error, bad.url+target+": served bytes with sha256 ") {
		t.Errorf("tried %+v, want the first mirror's mismatch", s.Tried)
	}
	if !strings.Contains(r.stderr, "download failed") {
		t.Errorf("the fall-back was not logged: %s", r.stderr)
	}
}

// TestGetNoMirrorRight is (c): every mirror, and the URL itself, serve
// other bytes.
func TestGetNoMirrorRight(t *testing.T) {
	g := newGetNetwork(t, 2)
	bad1 := startFront(t, g.mirrors[0], serveBytes(target, flipped(g.data)))
	bad2 := startFront(t, g.mirrors[1], serveBytes(target, g.data[:len(g.data)-1]))
	hub := startHub(t, g.listFor(bad1.url, bad2.url))
	out := filepath.Join(t.TempDir(), "target.bin")

	r := pando(t, "get", hub+target, "--pubkey", g.pub, "-o", out, "--quiet")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr: %s", r.code, r.stderr)
	}
	t.Logf("refused: %s", r.stderr)
	for _, want := range []string{
		"no mirror served the signed bytes",
		bad1.url + target + ": served bytes with sha256",
		fmt.Sprintf("%s: served %d bytes, the signed log says %d", bad2.url+target, len(g.data)-1, len(g.data)),
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	noOutput(t, out)
}

// TestGetResumes is (d): the best mirror cuts the connection half way
// through; the retry asks for the rest with a Range and the file verifies.
func TestGetResumes(t *testing.T) {
	g := newGetNetwork(t, 1)
	var once sync.Once
	cut := func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/"+target || r.URL.RawQuery != "" {
			return false
		}
		first := false
		once.Do(func() { first = true })
		if !first {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(g.data)))
		w.WriteHeader(http.StatusOK)
		w.Write(g.data[:len(g.data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection
	}
	m := startFront(t, g.mirrors[0], cut)
	hub := startHub(t, g.listFor(m.url))
	out := filepath.Join(t.TempDir(), "target.bin")

	r := mustPando(t, "get", hub+target, "--pubkey", g.pub, "-o", out, "--json", "--quiet")
	if got, _ := os.ReadFile(out); !bytes.Equal(got, g.data) {
		t.Fatal("output differs from the published file")
	}
	reqs := m.requests("/" + target)
	if len(reqs) != 2 || reqs[0].rng != "" {
		t.Fatalf("file requests %+v, want a plain one and a Range", reqs)
	}
	rng := regexp.MustCompile(`^bytes=(\d+)-$`).FindStringSubmatch(reqs[1].rng)
	if rng == nil {
		t.Fatalf("retry asked for %q, want bytes=N-", reqs[1].rng)
	}
	if n, _ := strconv.Atoi(rng[1]); n <= 0 || n > len(g.data)/2 {
		t.Errorf("resumed at byte %d, want after the up to %d bytes received", n, len(g.data)/2)
	}
	if s := parseSummary(t, r.stdout); len(s.Tried) != 3 || s.Tried[1].Error == "" || s.Tried[2].Error != "" {
		t.Errorf("tried %+v, want the cut and the resumed download", s.Tried)
	}
}

// TestGetRemoved is (e): the file's latest record removes it.
func TestGetRemoved(t *testing.T) {
	g := newGetNetwork(t, 0)
	m := filepath.Join(g.dir, "m1")
	os.Remove(filepath.Join(g.origin, filepath.FromSlash(target)))
	g.publish(t)
	if r := g.sync(t, g.url, m); r.code != 0 {
		t.Fatal(r.stderr)
	}
	hub := startHub(t, g.listFor(startServe(t, m)))
	out := filepath.Join(t.TempDir(), "target.bin")

	r := pando(t, "get", hub+target, "--pubkey", g.pub, "-o", out, "--quiet")
	if r.code != 1 || !strings.Contains(r.stderr, "pando get: "+target+": removed at record 701\n") {
		t.Fatalf("exit %d, stderr %q; want 1 and the record that removed it", r.code, r.stderr)
	}
	noOutput(t, out)
}

// TestGetHubLies is (f): the hub names the size and SHA-256 of other bytes
// and lists first a server that serves exactly those; only the signed log
// is believed.
func TestGetHubLies(t *testing.T) {
	g := newGetNetwork(t, 1)
	evil := []byte("not what the origin published")
	evilSum := sha256.Sum256(evil)
	liar := startFront(t, g.mirrors[0], serveBytes(target, evil))
	list := g.listFor(liar.url, g.mirrors[0])
	list.Size, list.SHA256 = int64(len(evil)), hex.EncodeToString(evilSum[:])
	hub := startHub(t, list)
	out := filepath.Join(t.TempDir(), "target.bin")

	r := mustPando(t, "get", hub+target, "--pubkey", g.pub, "-o", out, "--json", "--quiet")
	t.Logf("stderr: %s", r.stderr)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, g.data) {
		t.Fatal("output is not the published file")
	}
	if s := parseSummary(t, r.stdout); s.MirrorUsed != g.mirrors[0]+target || s.Size != int64(len(g.data)) {
		t.Errorf("summary %+v", s)
	}
	if !strings.Contains(r.stderr, "disagrees with the signed log") {
		t.Errorf("the hub's wrong claim was not logged: %s", r.stderr)
	}
}

// TestGetWrongKey is (g): the checkpoint is not signed by the key given.
func TestGetWrongKey(t *testing.T) {
	g := newGetNetwork(t, 1)
	_, otherPub := keys(t, t.TempDir(), "repo.example.org")
	hub := startHub(t, g.listFor(g.mirrors[0]))
	out := filepath.Join(t.TempDir(), "target.bin")

	r := pando(t, "get", hub+target, "--pubkey", otherPub, "-o", out, "--quiet")
	t.Logf("refused: %s", r.stderr)
	if r.code != 1 || !strings.Contains(r.stderr, "not signed by the origin's key repo.example.org") ||
		!strings.Contains(r.stderr, "no tree proved its record") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	noOutput(t, out)
}

// TestGetWithoutHub: the URL is the origin's; --mirror comes first, and -o
// defaults to the file's name in the working directory.
func TestGetWithoutHub(t *testing.T) {
	g := newGetNetwork(t, 1)
	m := startFront(t, g.mirrors[0], nil)
	dir := t.TempDir()
	r := mustPando(t, "get", g.url+target, "--mirror", m.url, "--pubkey", g.pub, "--json", "--quiet", "-o", dir)
	if got, _ := os.ReadFile(filepath.Join(dir, "target.bin")); !bytes.Equal(got, g.data) {
		t.Fatal("output is not the published file")
	}
	if s := parseSummary(t, r.stdout); s.MirrorUsed != m.url+target {
		t.Errorf("mirror used %s, want the --mirror", s.MirrorUsed)
	}
	// A second run finds the file already there.
	r = mustPando(t, "get", g.url+target, "--pubkey", g.pub, "-o", dir)
	if !strings.Contains(r.stdout, "already there") {
		t.Errorf("second run: %s", r.stdout)
	}
}

func TestGetUsage(t *testing.T) {
	_, pub := keys(t, t.TempDir(), "repo.example.org")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "--pubkey", pub}, "need the URL of the file"},
		{[]string{"get", "http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "--pubkey", pub}, `unexpected argument "http://127.0.0.1:1/b"`},
		{[]string{"get", "http://127.0.0.1:1/a"}, "need --pubkey"},
		{[]string{"get", "http://127.0.0.1:1/a", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"get", "ftp://127.0.0.1:1/a", "--pubkey", pub}, `URL "ftp://127.0.0.1:1/a": want http(s)://host/path`},
		{[]string{"get", "http://127.0.0.1:1/", "--pubkey", pub}, "cannot name the output"},
	} {
		r := pando(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("pando %v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestGetRefusesRollback: after a get verified the origin's newer log, a
// mirror still at the older one is refused as a rollback (exit 1, no file),
// although its older version of the file is validly signed; with --state ""
// nothing is kept and the mirror's version is taken.
func TestGetRefusesRollback(t *testing.T) {
	g := newGetNetwork(t, 1)
	stale := g.mirrors[0]
	randomFile(t, g.origin, target, 1000) // a new version, which the mirror lacks
	g.publish(t)
	fresh := readFile(t, g.origin, target)
	state := t.TempDir()
	dir := t.TempDir()

	out := filepath.Join(dir, "fresh.bin")
	r := mustPando(t, "get", g.url+target, "--pubkey", g.pub, "-o", out, "--state", state, "--quiet", "--json")
	if got := readFile(t, dir, "fresh.bin"); !bytes.Equal(got, fresh) {
		t.Fatal("the origin's get did not give the new version")
	}
	var summary struct{ State string }
	if err := json.Unmarshal([]byte(r.stdout), &summary); err != nil || filepath.Dir(summary.State) != state {
		t.Fatalf("--json state %q (%v), want a file in %s", summary.State, err, state)
	}
	if _, err := os.Stat(summary.State); err != nil {
		t.Fatalf("the state file the summary names: %v", err)
	}

	out = filepath.Join(dir, "stale.bin")
	r = pando(t, "get", stale+target, "--pubkey", g.pub, "-o", out, "--state", state, "--quiet")
	if r.code != 1 || !strings.Contains(r.stderr, "rollback") || !strings.Contains(r.stderr, state) {
		t.Fatalf("get from the stale mirror: exit %d, want 1 and a rollback naming the state:\n%s", r.code, r.stderr)
	}
	t.Logf("refused: %s", r.stderr)
	noOutput(t, out)

	mustPando(t, "get", stale+target, "--pubkey", g.pub, "-o", out, "--state", "", "--quiet")
	if got := readFile(t, dir, "stale.bin"); !bytes.Equal(got, g.data) {
		t.Fatal("without state, the stale mirror's version was not taken")
	}
}

// TestGetStateUnusable: without a usable home the default state is given
// up with a warning and the file still comes; a --state that cannot be
// made fails the run, naming it.
func TestGetStateUnusable(t *testing.T) {
	g := newGetNetwork(t, 1)
	dir := t.TempDir()
	out := filepath.Join(dir, "target.bin")
	r := pandoEnv(t, []string{"HOME=/proc/nonexistent", "XDG_STATE_HOME="}, "get", g.mirrors[0]+target, "--pubkey", g.pub, "-o", out, "--quiet")
	if r.code != 0 || !strings.Contains(r.stderr, "cannot keep checkpoints") {
		t.Fatalf("with no usable home: exit %d, want 0 and a warning:\n%s", r.code, r.stderr)
	}
	if got := readFile(t, dir, "target.bin"); !bytes.Equal(got, g.data) {
		t.Fatal("the file did not come")
	}
	bad := filepath.Join(out, "state") // under a file
	r = pando(t, "get", g.mirrors[0]+target, "--pubkey", g.pub, "-o", filepath.Join(dir, "again.bin"), "--state", bad, "--quiet")
	if r.code != 1 || !strings.Contains(r.stderr, "--state "+bad) {
		t.Fatalf("with --state %s: exit %d, want 1 naming it:\n%s", bad, r.code, r.stderr)
	}
	noOutput(t, filepath.Join(dir, "again.bin"))
}
