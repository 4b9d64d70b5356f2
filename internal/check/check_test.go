package check

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/probe"
	"github.com/pando-mirror/pando/internal/store"
)

// fakeTree is an in-memory access point: files by path, and an error to
// return for particular paths.
type fakeTree struct {
	kind  string
	files map[string][]byte
	fail  map[string]error // path -> error from Stat/Open/Get
	down  error            // the whole access point fails
	tls   *probe.TLSInfo
	list  bool // implements Lister
}

type fakeProber struct{ t *fakeTree }

func (p fakeProber) Kind() string { return p.t.kind }
func (p fakeProber) Close() error { return nil }

func (p fakeProber) Stat(ctx context.Context, paths []string, fn func(probe.Stat)) error {
	if p.t.down != nil {
		return p.t.down
	}
	for _, path := range paths {
		s := probe.Stat{Path: path, Size: -1}
		if err := p.t.fail[path]; err != nil {
			s.Err = err
		} else if data, ok := p.t.files[path]; ok {
			s.Size = int64(len(data))
		} else {
			s.Err = fmt.Errorf("%s: %w", path, probe.ErrNotFound)
		}
		fn(s)
	}
	return nil
}

func (p fakeProber) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := p.t.fail[path]; err != nil {
		return nil, err
	}
	data, ok := p.t.files[path]
	if !ok {
		return nil, probe.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (p fakeProber) Get(ctx context.Context, path string, limit int64) ([]byte, error) {
	if p.t.down != nil {
		return nil, p.t.down
	}
	rc, err := p.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(rc)
}

type fakeTLSProber struct{ fakeProber }

func (p fakeTLSProber) TLS(ctx context.Context) (probe.TLSInfo, error) { return *p.t.tls, nil }

type fakeListProber struct{ fakeProber }

func (p fakeListProber) List(ctx context.Context) ([]probe.Stat, error) {
	var out []probe.Stat
	for path, data := range p.t.files {
		out = append(out, probe.Stat{Path: path, Size: int64(len(data))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// world is an origin log and the fake access points of some mirrors.
type world struct {
	t       *testing.T
	signer  note.Signer
	v       note.Verifier
	log     *logdir.Log
	files   map[string][]byte
	trees   map[string]*fakeTree // by URL
	now     time.Time
	history []*logdir.Log
}

func newWorld(t *testing.T) *world {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "repo.example.org")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	w := &world{t: t, signer: s, v: v, log: logdir.Empty("repo.example.org"), files: map[string][]byte{},
		trees: map[string]*fakeTree{}, now: time.Unix(1_800_000_000, 0)}
	return w
}

// publish adds or replaces files at time at and signs a checkpoint.
func (w *world) publish(at time.Time, files map[string]string) {
	w.t.Helper()
	var lines [][]byte
	var names []string
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		data := []byte(files[p])
		w.files[p] = data
		line, err := journal.AppendLine(nil, &journal.Record{Kind: journal.File, Time: at.Unix(), Path: p,
			Size: int64(len(data)), MTime: at.Unix(), SHA256: sha256.Sum256(data)})
		if err != nil {
			w.t.Fatal(err)
		}
		lines = append(lines, line[:len(line)-1])
	}
	next, _, err := w.log.Extend(lines)
	if err != nil {
		w.t.Fatal(err)
	}
	next.Checkpoint.Time = at
	if next.Signed, err = checkpoint.Sign(next.Checkpoint, w.signer); err != nil {
		w.t.Fatal(err)
	}
	w.log = next
	w.history = append(w.history, next)
}

// mirror returns a fake access point holding the origin's current files and
// checkpoint (a synced pando mirror).
func (w *world) mirror(kind, url string) *fakeTree {
	ft := &fakeTree{kind: kind, files: map[string][]byte{}, fail: map[string]error{}}
	for p, d := range w.files {
		ft.files[p] = append([]byte(nil), d...)
	}
	ft.files[logdir.CheckpointPath] = w.log.Signed
	w.trees[url] = ft
	return ft
}

func (w *world) opts() Options {
	return Options{
		Verifier: w.v, MaxAge: 48 * time.Hour, StaleAfter: 10 * time.Minute, HashBudget: 1 << 30,
		TLSWarn: 14 * 24 * time.Hour, Now: func() time.Time { return w.now },
		NewProber: func(kind, url string, cfg probe.Config) (probe.Prober, error) {
			ft, ok := w.trees[url]
			if !ok {
				return nil, fmt.Errorf("%s: %w", url, probe.ErrUnreachable)
			}
			base := fakeProber{ft}
			switch {
			case ft.tls != nil:
				return fakeTLSProber{base}, nil
			case ft.list:
				return fakeListProber{base}, nil
			}
			return base, nil
		},
	}
}

func (w *world) pass(st store.Store, mirrors ...config.Mirror) *Report {
	w.t.Helper()
	rep, err := Pass(context.Background(), st, w.log, "http://origin/", mirrors, w.opts())
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

func httpMirror(name string) config.Mirror {
	return config.Mirror{Name: name, HTTP: "http://" + name + "/", Weight: 100}
}

// kinds renders a mirror's problems as "kind path" lines for comparison.
func kinds(m MirrorReport) string {
	var out []string
	for _, p := range m.Problems {
		out = append(out, strings.TrimSpace(string(p.Kind)+" "+p.Path))
	}
	return strings.Join(out, "; ")
}

func TestPassFindsEachProblem(t *testing.T) {
	w := newWorld(t)
	t0 := w.now.Add(-24 * time.Hour)
	w.publish(t0, map[string]string{"a.iso": "aaaa", "b.iso": "bbbbbbbb", "c/d.jar": "dddd"})
	st := store.NewMemory()

	good := w.mirror("http", "http://good/")
	_ = good
	tampered := w.mirror("http", "http://tampered/")
	tampered.files["b.iso"] = []byte("bbbbXbbb") // same size, other bytes
	holes := w.mirror("rsync", "rsync://holes/")
	holes.list = true
	delete(holes.files, "c/d.jar")
	holes.files["extra.txt"] = []byte("not in the log")
	badsig := w.mirror("http", "http://badsig/")
	badsig.files[logdir.CheckpointPath] = []byte("pando checkpoint v1\nrepo.example.org\n3\nAAAA\n1\n\n— repo.example.org AAAA\n")
	slow := w.mirror("http", "http://slow/")
	slow.fail["a.iso"] = fmt.Errorf("HEAD a.iso: %w", probe.ErrTimeout)
	tlsBad := w.mirror("https", "https://tls/")
	tlsBad.tls = &probe.TLSInfo{NotAfter: w.now.Add(-time.Hour), Err: fmt.Errorf("certificate expired: %w", probe.ErrTLS)}
	tlsSoon := w.mirror("https", "https://soon/")
	tlsSoon.tls = &probe.TLSInfo{NotAfter: w.now.Add(72 * time.Hour)}
	down := config.Mirror{Name: "down", HTTP: "http://down/", Weight: 100}
	plain := w.mirror("http", "http://plain/")
	delete(plain.files, logdir.CheckpointPath) // an rsync-from-cron mirror without .pando

	mirrors := []config.Mirror{httpMirror("good"), httpMirror("tampered"),
		{Name: "holes", Rsync: "rsync://holes/", Weight: 100}, httpMirror("badsig"), httpMirror("slow"),
		{Name: "tls", HTTPS: "https://tls/", Weight: 100}, {Name: "soon", HTTPS: "https://soon/", Weight: 100},
		down, httpMirror("plain")}
	rep := w.pass(st, mirrors...)

	want := map[string]string{
		"good":     "",
		"tampered": "hash b.iso",
		"holes":    "missing c/d.jar; extra extra.txt",
		"badsig":   "bad-signature .pando/checkpoint",
		"slow":     "timeout a.iso",
		"tls":      "tls",
		"soon":     "tls",
		"down":     "unreachable",
		"plain":    "",
	}
	for _, m := range rep.Mirrors {
		if got := kinds(m); got != want[m.Name] {
			t.Errorf("%s: problems %q, want %q", m.Name, got, want[m.Name])
		}
		wantOK := want[m.Name] == "" || m.Name == "soon"
		if m.OK != wantOK {
			t.Errorf("%s: ok = %v, want %v", m.Name, m.OK, wantOK)
		}
	}
	if rep.OK() {
		t.Error("report OK with broken mirrors")
	}
	h := rep.Mirrors[1].Problems[0]
	if h.Expected != hexSum(sha256.Sum256([]byte("bbbbbbbb"))) || h.Got != hexSum(sha256.Sum256([]byte("bbbbXbbb"))) {
		t.Errorf("hash problem does not carry both digests: %+v", h)
	}
	if r := rep.Mirrors[0]; r.Records == nil || *r.Records != 3 || *r.LagSeconds != 0 || r.Complete != 1 {
		t.Errorf("good mirror: records %v lag %v complete %v", r.Records, r.LagSeconds, r.Complete)
	}
	if r := rep.Mirrors[8]; r.Records != nil || r.Complete != 1 {
		t.Errorf("plain mirror: records %v (want none), complete %v", r.Records, r.Complete)
	}

	// What the hub's availability map is compiled from: per-object states.
	held := func(mirror string) map[string]bool {
		objs, err := st.Objects(context.Background(), mirror)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, o := range objs {
			out[o.Path] = o.OK
		}
		return out
	}
	if h := held("tampered"); !h["a.iso"] || h["b.iso"] {
		t.Errorf("tampered mirror holds %v; want a.iso but not the tampered b.iso", h)
	}
	if h := held("holes"); h["c/d.jar"] || !h["a.iso"] {
		t.Errorf("holes mirror holds %v; want a.iso but not the missing c/d.jar", h)
	}
	if h := held("plain"); !h["a.iso"] || !h["b.iso"] {
		t.Errorf("plain mirror, all hashed within budget, holds %v", h)
	}
}

func TestPlainMirrorNeedsAHash(t *testing.T) {
	w := newWorld(t)
	w.publish(w.now.Add(-time.Hour), map[string]string{"a": "1111"})
	plain := w.mirror("http", "http://plain/")
	delete(plain.files, logdir.CheckpointPath)
	st := store.NewMemory()
	o := w.opts()
	o.HashBudget = 0
	if _, err := Pass(context.Background(), st, w.log, "http://origin/", []config.Mirror{httpMirror("plain")}, o); err != nil {
		t.Fatal(err)
	}
	objs, _ := st.Objects(context.Background(), "plain")
	if len(objs) != 1 || objs[0].OK || objs[0].SizeChecked.IsZero() {
		t.Errorf("plain mirror with the right size but no hash yet: %+v; want size checked, not held", objs)
	}
}

func TestPassStaleRollbackFork(t *testing.T) {
	w := newWorld(t)
	t0 := w.now.Add(-2 * time.Hour)
	w.publish(t0, map[string]string{"a": "1"})
	old := w.log
	st := store.NewMemory()
	w.mirror("http", "http://stale/") // keeps the first state
	w.publish(w.now.Add(-time.Hour), map[string]string{"b": "22"})
	rolled := w.mirror("http", "http://rolled/")
	rep := w.pass(st, httpMirror("stale"), httpMirror("rolled"))
	if got := kinds(rep.Mirrors[0]); got != "stale" {
		t.Errorf("stale mirror: %q", got)
	}
	if lag := rep.Mirrors[0].LagSeconds; lag == nil || *lag != 3600 {
		t.Errorf("stale mirror lag %v, want exactly 3600 s (since record 1 was published)", lag)
	}
	if got := kinds(rep.Mirrors[1]); got != "" {
		t.Errorf("current mirror: %q", got)
	}

	// The second mirror now serves the old checkpoint again: a rollback.
	rolled.files[logdir.CheckpointPath] = old.Signed
	rep = w.pass(st, httpMirror("rolled"))
	if got := kinds(rep.Mirrors[0]); got != "rollback" {
		t.Errorf("rolled-back mirror: %q, want rollback", got)
	}

	// A checkpoint validly signed for a different history: a fork.
	forked := w.mirror("http", "http://forked/")
	w2 := *w
	w2.log, w2.files = logdir.Empty("repo.example.org"), map[string][]byte{}
	w2.publish(t0, map[string]string{"a": "other"})
	w2.publish(t0, map[string]string{"b": "x"})
	forked.files[logdir.CheckpointPath] = w2.log.Signed
	rep = w.pass(st, httpMirror("forked"))
	if got := kinds(rep.Mirrors[0]); got != "fork" {
		t.Errorf("forked mirror: %q, want fork", got)
	}
}

func TestHashBudgetRollsOverPasses(t *testing.T) {
	w := newWorld(t)
	w.publish(w.now.Add(-time.Hour), map[string]string{"a": "1111", "b": "2222", "c": "3333"})
	w.mirror("http", "http://m/")
	st := store.NewMemory()
	o := w.opts()
	o.HashBudget = 8 // two objects per pass
	hashed := map[string]int{}
	for range 3 {
		rep, err := Pass(context.Background(), st, w.log, "http://origin/", []config.Mirror{httpMirror("m")}, o)
		if err != nil {
			t.Fatal(err)
		}
		if n := rep.Mirrors[0].Access[0].Hashed; n != 2 {
			t.Errorf("hashed %d objects, want 2 within the budget", n)
		}
		objs, _ := st.Objects(context.Background(), "m")
		for _, ob := range objs {
			if !ob.HashChecked.IsZero() {
				hashed[ob.Path]++
			}
		}
		w.now = w.now.Add(time.Minute)
	}
	if len(hashed) != 3 {
		t.Errorf("after three passes, hashed %v; want every object hashed at least once", hashed)
	}
}

// racingStore is a store shared with another checker, which begins a pass
// just after ours and records every mirror in it first.
type racingStore struct {
	*store.Memory
	mirrors []string
}

func (s racingStore) BeginPass(ctx context.Context, started time.Time) (store.PassID, error) {
	ours, err := s.Memory.BeginPass(ctx, started)
	if err != nil {
		return 0, err
	}
	theirs, err := s.Memory.BeginPass(ctx, started)
	if err != nil {
		return 0, err
	}
	for _, m := range s.mirrors {
		if err := s.Memory.RecordMirror(ctx, theirs, store.MirrorResult{Mirror: m, Checked: started}); err != nil {
			return 0, err
		}
	}
	return ours, nil
}

// TestPassSupersededByAnotherChecker: a mirror another checker recorded in
// a later pass keeps that result; this pass reports it as superseded and
// does not fail.
func TestPassSupersededByAnotherChecker(t *testing.T) {
	w := newWorld(t)
	w.publish(w.now.Add(-time.Hour), map[string]string{"a": "1111"})
	w.mirror("http", "http://m/")
	w.mirror("http", "http://other/")
	st := racingStore{store.NewMemory(), []string{"m"}}
	rep, err := Pass(context.Background(), st, w.log, "http://origin/", []config.Mirror{httpMirror("m"), httpMirror("other")}, w.opts())
	if err != nil {
		t.Fatalf("Pass beside another checker: %v", err)
	}
	if !rep.Mirrors[0].Superseded || rep.Mirrors[1].Superseded {
		t.Errorf("superseded: m %v, other %v; want m only", rep.Mirrors[0].Superseded, rep.Mirrors[1].Superseded)
	}
	latest, _ := st.LatestResults(context.Background())
	for _, r := range latest {
		if want := map[string]store.PassID{"m": 2, "other": 1}[r.Mirror]; r.Pass != want {
			t.Errorf("mirror %s: latest result from pass %d, want %d", r.Mirror, r.Pass, want)
		}
	}
}
