package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"

	"github.com/pando-mirror/pando/internal/keytest"
)

// testOrigin is an origin held in memory: a key, the signed log after each
// publish, and the bytes of every file it ever published.
type testOrigin struct {
	signer   note.Signer
	verifier note.Verifier
	logs     []*logdir.Log // after each publish
	signed   [][]byte
	blobs    map[[32]byte][]byte
	now      int64
}

func newTestOrigin(t *testing.T) *testOrigin {
	t.Helper()
	s, v := testKey(t, "repo.test")
	o := &testOrigin{signer: s, verifier: v, blobs: make(map[[32]byte][]byte), now: 1700000000}
	o.logs = []*logdir.Log{logdir.Empty("repo.test")}
	o.signed = [][]byte{nil}
	return o
}

func testKey(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	return keytest.New(t, name)
}

// publish appends one publish: files (path -> contents; "" removes the
// path, "-> x" makes a symlink to x), with its own publication time.
func (o *testOrigin) publish(t *testing.T, files map[string]string) (*logdir.Log, []byte) {
	t.Helper()
	o.now += 10
	return o.publishFrom(t, o.logs[len(o.logs)-1], o.signer, files)
}

func (o *testOrigin) publishFrom(t *testing.T, old *logdir.Log, s note.Signer, files map[string]string) (*logdir.Log, []byte) {
	t.Helper()
	var lines [][]byte
	for _, p := range slices.Sorted(mapKeys(files)) {
		r := journal.Record{Kind: journal.File, Time: o.now, Path: p, MTime: o.now - 5}
		switch data := files[p]; {
		case data == "":
			r = journal.Record{Kind: journal.Remove, Time: o.now, Path: p}
		case strings.HasPrefix(data, "-> "):
			r.Kind, r.Target = journal.Symlink, strings.TrimPrefix(data, "-> ")
		default:
			r.SHA256, r.Size = sha256.Sum256([]byte(data)), int64(len(data))
			o.blobs[r.SHA256] = []byte(data)
		}
		line, err := journal.AppendLine(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line[:len(line)-1])
	}
	next, _, err := old.Extend(lines)
	if err != nil {
		t.Fatal(err)
	}
	next.Checkpoint.Time = time.Unix(o.now, 0).UTC()
	if next.Signed, err = checkpoint.Sign(next.Checkpoint, s); err != nil {
		t.Fatal(err)
	}
	if s == o.signer && old == o.logs[len(o.logs)-1] {
		o.logs, o.signed = append(o.logs, next), append(o.signed, next.Signed)
	}
	return next, next.Signed
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// mirrorTree writes a tree holding l, as a sync would leave it.
func (o *testOrigin) mirrorTree(t *testing.T, l *logdir.Log) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range l.State.Paths() {
		e, _ := l.State.Lookup(p)
		name := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(name), 0o755)
		if e.Kind == journal.Symlink {
			if err := os.Symlink(e.Target, name); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(name, o.blobs[e.SHA256], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := logdir.Commit(dir, logdir.Empty(l.Checkpoint.Origin), l, l.Signed); err != nil {
		t.Fatal(err)
	}
	return dir
}

// countingServer serves a tree and counts GETs of each path.
type countingServer struct {
	*httptest.Server
	mu   sync.Mutex
	gets map[string]int
}

func serveTree(t *testing.T, dir string) *countingServer {
	t.Helper()
	s := &countingServer{gets: make(map[string]int)}
	fsrv := http.FileServer(http.Dir(dir))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // not the HTTP/2 preface a client tries first
			s.mu.Lock()
			s.gets[strings.TrimPrefix(r.URL.Path, "/")]++
			s.mu.Unlock()
		}
		fsrv.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// objectGets returns how many requests asked for paths outside .pando.
func (s *countingServer) objectGets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, k := range s.gets {
		if !strings.HasPrefix(p, ".pando/") {
			n += k
		}
	}
	return n
}

func (s *countingServer) source(name string) Source {
	return Source{Name: name, URLs: []string{s.URL + "/"}}
}

func restoreInto(t *testing.T, root string, v note.Verifier, sources ...Source) (*RestoreReport, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	return Restore(ctx, RestoreOptions{Root: root, Sources: sources, Verifier: v, Jobs: 4})
}

func states(rep *RestoreReport) map[string]string {
	out := make(map[string]string)
	for _, m := range rep.Mirrors {
		out[m.Name] = m.State
	}
	return out
}

// TestRestoreStates restores from mirrors of every kind and checks what the
// report says of each, and that the tree is the newest consistent state.
func TestRestoreStates(t *testing.T) {
	o := newTestOrigin(t)
	v1, _ := o.publish(t, map[string]string{"a.txt": "alpha", "b/b.txt": "beta", "dup.txt": "alpha"})
	v2, _ := o.publish(t, map[string]string{"a.txt": "alpha 2", "c.txt": "gamma", "latest": "-> b", "dup.txt": ""})
	fork, _ := o.publishFrom(t, v1, o.signer, map[string]string{"evil.txt": "another history", "x": "y", "z": "w"})
	other, _ := testKey(t, "repo.test")
	badsig, _ := o.publishFrom(t, v1, other, map[string]string{"c.txt": "gamma", "q": "r", "s": "t"})
	v3, _ := o.publish(t, map[string]string{"d.txt": "delta"})

	tampered := o.mirrorTree(t, v2)
	os.WriteFile(filepath.Join(tampered, "c.txt"), []byte("GAMMA"), 0o644)
	badJournal := o.mirrorTree(t, v3) // newest, but its journal was edited
	jname := filepath.Join(badJournal, ".pando", "journal")
	j, _ := os.ReadFile(jname)
	os.WriteFile(jname, bytes.Replace(j, []byte("d.txt"), []byte("e.txt"), 1), 0o644)
	down := serveTree(t, t.TempDir())
	down.Close()

	srcs := []Source{
		serveTree(t, o.mirrorTree(t, v2)).source("current"),
		serveTree(t, tampered).source("tampered"),
		serveTree(t, o.mirrorTree(t, v1)).source("stale"),
		serveTree(t, o.mirrorTree(t, fork)).source("fork"),
		serveTree(t, o.mirrorTree(t, badsig)).source("badsig"),
		serveTree(t, badJournal).source("badjournal"),
		down.source("down"),
		{Name: "rsync-only"},
	}
	root := filepath.Join(t.TempDir(), "restored")
	rep, err := restoreInto(t, root, o.verifier, srcs...)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	want := map[string]string{
		"current": StateUsed, "tampered": StateUsed, "stale": StateStale, "fork": StateFork,
		"badsig": StateBadSignature, "badjournal": StateBadJournal, "down": StateUnreachable, "rsync-only": StateUnreachable,
	}
	if got := states(rep); !equalMaps(got, want) {
		t.Errorf("states = %v, want %v", got, want)
	}
	if rep.Records != v2.N() || rep.JournalFrom != "current" || !rep.Complete || rep.Restored != 4 {
		t.Errorf("report = %+v; want v2's %d records from current, complete, 4 paths", rep, v2.N())
	}
	l, err := logdir.Load(root, o.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Signed, v2.Signed) || !bytes.Equal(l.Journal, v2.Journal) {
		t.Error("restored log is not v2 as signed")
	}
	for p, data := range map[string]string{"a.txt": "alpha 2", "b/b.txt": "beta", "c.txt": "gamma"} {
		if got, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(got) != data {
			t.Errorf("%s = %q, %v; want %q", p, got, err, data)
		}
	}
	for _, p := range v2.State.Paths() { // files and symlinks alike
		e, _ := v2.State.Lookup(p)
		if fi, err := os.Lstat(filepath.Join(root, p)); err != nil || fi.ModTime().Unix() != e.MTime {
			t.Errorf("%s: %v, %v; want its record's mtime %d", p, fi, err, e.MTime)
		}
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(logdir.StagingDir))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging left behind: %v", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRestoreMissingThenRerun: an object nobody holds is reported, the rest
// installed with no checkpoint; once a mirror has it, the rerun completes
// with that one download.
func TestRestoreMissingThenRerun(t *testing.T) {
	o := newTestOrigin(t)
	o.publish(t, map[string]string{"a": "alpha", "b": "beta"})
	v2, _ := o.publish(t, map[string]string{"c": "gamma", "d": "delta"})
	m1, m2 := o.mirrorTree(t, v2), o.mirrorTree(t, v2)
	os.Remove(filepath.Join(m1, "c"))
	os.WriteFile(filepath.Join(m2, "c"), []byte("GAMMA"), 0o644)
	s1, s2 := serveTree(t, m1), serveTree(t, m2)
	root := t.TempDir()

	rep, err := restoreInto(t, root, o.verifier, s1.source("m1"), s2.source("m2"))
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("restore: %v, want ErrIncomplete", err)
	}
	if len(rep.Missing) != 1 || rep.Missing[0].Path != "c" || rep.Missing[0].Record != 2 ||
		rep.Missing[0].Published.Unix() != v2.Checkpoint.Time.Unix() || len(rep.Missing[0].Tried) != 2 {
		t.Fatalf("missing = %+v, want c (record 2, published with v2) tried on both", rep.Missing)
	}
	if _, _, err := logdir.ReadCheckpoint(root, o.verifier); !errors.Is(err, logdir.ErrNoLog) {
		t.Errorf("incomplete restore left a checkpoint: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "d")); err != nil {
		t.Errorf("verified object not installed: %v", err)
	}

	os.WriteFile(filepath.Join(m1, "c"), []byte("gamma"), 0o644)
	before := s1.objectGets() + s2.objectGets()
	rep, err = restoreInto(t, root, o.verifier, s1.source("m1"), s2.source("m2"))
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if got := s1.objectGets() + s2.objectGets() - before; got < 1 || got > 2 || rep.Fetched != 1 || rep.Reused != 3 {
		t.Errorf("rerun: %d object requests, %d fetched, %d reused; want c alone fetched (at most one refusal first), 3 reused",
			got, rep.Fetched, rep.Reused)
	}
	if _, err := logdir.Load(root, o.verifier); err != nil {
		t.Errorf("rerun left no log: %v", err)
	}
}

// TestRestoreUpToDate: a second restore into a complete tree does nothing
// but take a newer signature of the same state.
func TestRestoreUpToDate(t *testing.T) {
	o := newTestOrigin(t)
	v1, _ := o.publish(t, map[string]string{"a": "alpha"})
	s := serveTree(t, o.mirrorTree(t, v1))
	root := t.TempDir()
	if _, err := restoreInto(t, root, o.verifier, s.source("m")); err != nil {
		t.Fatal(err)
	}
	o.now += 100 // the origin re-signed before it was lost
	resigned := *v1
	resigned.Checkpoint.Time = time.Unix(o.now, 0).UTC()
	signed, err := checkpoint.Sign(resigned.Checkpoint, o.signer)
	if err != nil {
		t.Fatal(err)
	}
	resigned.Signed = signed
	s2 := serveTree(t, o.mirrorTree(t, &resigned))
	gets := s.objectGets()
	rep, err := restoreInto(t, root, o.verifier, s.source("m"), s2.source("m2"))
	if err != nil || !rep.UpToDate || s.objectGets() != gets || rep.CheckpointFrom != "m2" {
		t.Fatalf("second restore: %+v, %v; want up to date with m2's newer checkpoint, no downloads", rep, err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, ".pando", "checkpoint")); !bytes.Equal(got, signed) {
		t.Error("the newer signature of the same state was not kept")
	}
}

// TestRestoreRefusesForeignDirectory keeps a restore out of a directory with
// files that is not a pando tree.
func TestRestoreRefusesForeignDirectory(t *testing.T) {
	o := newTestOrigin(t)
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "precious"), []byte("x"), 0o644)
	_, err := restoreInto(t, root, o.verifier, Source{Name: "m", URLs: []string{"http://127.0.0.1:1/"}})
	if err == nil || !strings.Contains(err.Error(), "not a pando tree") {
		t.Errorf("restore into a foreign directory: %v", err)
	}
}

// TestRestoreLocateRotates checks that each blob's sources start at a different
// peer, that a stale peer is asked only for what its state holds (at
// whichever path), and that peers whose journal failed come last.
func TestRestoreLocateRotates(t *testing.T) {
	o := newTestOrigin(t)
	v1, _ := o.publish(t, map[string]string{"old": "same bytes", "x": "x1"})
	v2, _ := o.publish(t, map[string]string{"new": "same bytes", "old": "", "x": "x2", "y": "y"})
	peerAt := func(name, state string, l *logdir.Log) *peer {
		return &peer{rep: MirrorReport{Name: name, State: state}, cp: l.Checkpoint}
	}
	r := &restoreRun{next: v2, peers: []*peer{
		peerAt("a", StateUsed, v2), peerAt("s", StateStale, v1), peerAt("b", StateUsed, v2),
		peerAt("j", StateBadJournal, v2), peerAt("f", StateFork, v2),
	}}
	if err := r.findHoldings(); err != nil {
		t.Fatal(err)
	}
	p := makePlan(journal.NewState(), v2.State, nil, nil)
	r.order = make(map[[32]byte]int)
	for i, b := range p.blobs {
		r.order[b.sha] = i
	}
	var got []string
	for _, b := range p.blobs {
		var locs []string
		for _, l := range r.locate(b) {
			locs = append(locs, l.src.Name()+":"+l.path)
		}
		got = append(got, strings.Join(locs, " "))
	}
	want := []string{
		"a:new s:old b:new j:new", // blob 0 starts at the first; s holds the bytes at "old"
		"b:x a:x j:x",             // blob 1: x changed since s's state
		"a:y b:y j:y",             // blob 2 wraps around
	}
	if !slices.Equal(got, want) {
		t.Errorf("locations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRestorePublishTiles: the tiles a restore writes are those the origin
// wrote, publish after publish.
func TestRestorePublishTiles(t *testing.T) {
	o := newTestOrigin(t)
	origin := t.TempDir()
	old := o.logs[0]
	for i, n := range []int{3, 250, 1, 300} {
		files := make(map[string]string)
		for k := range n {
			files[fmt.Sprintf("p%d/f%d", i, k)] = fmt.Sprint(i, k)
		}
		next, signed := o.publish(t, files)
		if err := logdir.Commit(origin, old, next, signed); err != nil {
			t.Fatal(err)
		}
		old = next
	}
	restored := t.TempDir()
	if err := writePublishTiles(restored, o.logs[0], old); err != nil {
		t.Fatal(err)
	}
	if err := logdir.Commit(restored, o.logs[0], old, old.Signed); err != nil {
		t.Fatal(err)
	}
	want, got := treeOf(t, origin), treeOf(t, restored)
	if !equalMaps(want, got) {
		t.Errorf("restored .pando has %d files, origin %d; they differ", len(got), len(want))
	}
}

func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	filepath.WalkDir(dir, func(name string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, _ := os.ReadFile(name)
			rel, _ := filepath.Rel(dir, name)
			out[rel] = string(data)
		}
		return err
	})
	return out
}

// memSource serves paths from memory, counting opens, resuming at offsets.
type memSource struct {
	name  string
	files map[string][]byte
	opens atomic.Int64
}

func (s *memSource) Open(ctx context.Context, p string, off int64) (io.ReadCloser, int64, error) {
	s.opens.Add(1)
	data, ok := s.files[p]
	if !ok {
		return nil, 0, fmt.Errorf("%s: %s: 404 Not Found", s.name, p)
	}
	return io.NopCloser(bytes.NewReader(data[off:])), off, nil
}

func (s *memSource) Name() string { return s.name }

// TestRestoreFetcherSeveralSources: a blob comes from the first source that serves
// the right bytes, each failure is reported, and a part left by a bad source
// is not trusted: the good source starts over once it finds the hash wrong.
func TestRestoreFetcherSeveralSources(t *testing.T) {
	good := []byte(strings.Repeat("good bytes ", 100))
	b := blob{sha: sha256.Sum256(good), size: int64(len(good)), from: "f", uses: 1}
	bad := &memSource{name: "bad", files: map[string][]byte{"f": bytes.Repeat([]byte("x"), len(good))}}
	none := &memSource{name: "none", files: map[string][]byte{}}
	ok := &memSource{name: "ok", files: map[string][]byte{"g": good}}
	staging := t.TempDir()
	// A killed earlier attempt left half a file of wrong bytes.
	os.WriteFile(filepath.Join(staging, b.hex()+".part"), bytes.Repeat([]byte("y"), 300), 0o644)

	var tries []string
	f := &fetcher{staging: staging, jobs: 1,
		locate: func(blob) []location { return []location{{bad, "f"}, {none, "f"}, {ok, "g"}} },
		tried: func(_ blob, l location, _ int64, err error) {
			tries = append(tries, fmt.Sprintf("%s:%v", l.src.Name(), err != nil))
		},
	}
	st, errs, err := f.fetchEach(t.Context(), []blob{b}, true)
	if err != nil || errs[0] != nil || st.fetched != 1 {
		t.Fatalf("fetch: %+v, %v, %v", st, errs, err)
	}
	if want := []string{"bad:true", "none:true", "ok:false"}; !slices.Equal(tries, want) {
		t.Errorf("tries = %v, want %v", tries, want)
	}
	if got, _ := os.ReadFile(filepath.Join(staging, b.hex())); !bytes.Equal(got, good) {
		t.Error("staged bytes are not the blob")
	}

	// Nobody has it: the error names every source, and others carry on.
	missing := blob{sha: [32]byte{1}, size: 3, from: "m", uses: 1}
	f.locate = func(b blob) []location {
		if b.from == "m" {
			return []location{{bad, "m"}, {none, "m"}}
		}
		return []location{{ok, "g"}}
	}
	_, errs, err = f.fetchEach(t.Context(), []blob{missing, b}, true)
	var ue *UnavailableError
	if err != nil || !errors.As(errs[0], &ue) || len(ue.Errs) != 2 || errs[1] != nil {
		t.Errorf("fetch of a blob nobody has: errs %v, err %v; want an UnavailableError of 2 and the other staged", errs, err)
	}
}
