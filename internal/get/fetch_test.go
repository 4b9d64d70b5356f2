package get

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/upstream"
)

// bigTree publishes 600 files with long names (a journal of about 100 kB,
// three level-0 tiles), then a new file in a second publish.
func bigTree(t *testing.T) *testTree {
	t.Helper()
	files := make(map[string]string)
	for i := 0; i < 600; i++ {
		files[fmt.Sprintf("pool/main/p/package-%03d/package-%03d_1.0.%d-with-a-long-version_amd64.deb", i, i, i)] = fmt.Sprint(i)
	}
	tt := newTestTree(t, files)
	tt.write(t, map[string]string{"new/target.bin": strings.Repeat("target bytes ", 5000)})
	tt.publish(t)
	return tt
}

func TestVerifyReadsOnlyTheTail(t *testing.T) {
	tt := bigTree(t)
	var log reqLog
	base := serveTree(t, tt.root, log.wrap)
	journalSize := int64(len(tt.file(t, ".pando/journal")))

	rec, idx, cp, err := VerifyRecord(context.Background(), base, "new/target.bin", tt.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if cp.N != 601 || idx != 600 || rec.Size != 13*5000 || rec.SHA256 != sha256.Sum256(tt.file(t, "new/target.bin")) {
		t.Fatalf("record %d of %d: %+v", idx, cp.N, rec)
	}
	if n := len(log.matching("/.pando/tile/")); n == 0 {
		t.Fatal("no tiles fetched: the record was not proved")
	}
	js := log.matching("/.pando/journal")
	if len(js) != 1 || js[0].rng != fmt.Sprintf("bytes=-%d", firstChunk) {
		t.Fatalf("journal requests %+v, want one for the last %d bytes", js, firstChunk)
	}
	if journalSize <= firstChunk {
		t.Fatalf("journal of %d bytes: too small for this test", journalSize)
	}

	// A record near the start costs the journal from there on, by ranges.
	c := NewClient(upstream.Config{}, nil)
	ver, err := c.Verify(context.Background(), base, "pool/main/p/package-000/package-000_1.0.0-with-a-long-version_amd64.deb", tt.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if ver.Cost.JournalBytes > journalSize || ver.Cost.JournalRequests != 2 || ver.Cost.Tiles < 3 {
		t.Fatalf("cost %+v for record %d of a %d-byte journal", ver.Cost, ver.Index, journalSize)
	}
	for _, r := range log.matching("/.pando/journal")[1:] {
		if !strings.HasPrefix(r.rng, "bytes=") {
			t.Fatalf("journal fetched without a Range: %+v", r)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	tt := newTestTree(t, map[string]string{"a": "alpha", "b": "beta"})
	tt.write(t, map[string]string{"c": "gamma"})
	tt.publish(t)
	os.Remove(filepath.Join(tt.root, "b"))
	tt.publish(t)
	ctx := context.Background()

	base := serveTree(t, tt.root, nil)
	_, idx, _, err := VerifyRecord(ctx, base, "b", tt.verifier)
	if !errors.Is(err, ErrRemoved) || err.Error() != "b: removed at record 3" || idx != 3 {
		t.Fatalf("removed path: record %d, %v", idx, err)
	}
	if _, _, _, err := VerifyRecord(ctx, base, "nope", tt.verifier); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown path: %v", err)
	}
	_, other := newKey(t, "repo.example.org")
	if _, _, _, err := VerifyRecord(ctx, base, "a", other); err == nil || !strings.Contains(err.Error(), "not signed by the origin's key repo.example.org") {
		t.Fatalf("other key: %v", err)
	}

	flipTile := serveTree(t, tt.root, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/.pando/tile/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			body[0] ^= 1
			w.Write(body)
		})
	})
	if _, _, _, err := VerifyRecord(ctx, flipTile, "a", tt.verifier); err == nil || !strings.Contains(err.Error(), "downloaded inconsistent tile") {
		t.Fatalf("flipped tile: %v", err)
	}

	// A journal line changed after signing: the record found is refused.
	editJournal := serveTree(t, tt.root, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.pando/journal" {
				h.ServeHTTP(w, r)
				return
			}
			data := bytes.Replace(tt.file(t, ".pando/journal"), []byte(" c "), []byte(" a "), 1)
			http.ServeContent(w, r, "journal", time.Time{}, bytes.NewReader(data))
		})
	})
	if _, _, _, err := VerifyRecord(ctx, editJournal, "a", tt.verifier); err == nil || !strings.Contains(err.Error(), "does not match signed record 2") {
		t.Fatalf("edited journal: %v", err)
	}

	c := NewClient(upstream.Config{}, nil)
	c.MaxAge = time.Hour
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := c.Verify(ctx, base, "a", tt.verifier); err == nil || !strings.Contains(err.Error(), "older than the 1h0m0s allowed") {
		t.Fatalf("old checkpoint: %v", err)
	}
}

// TestVerifyJournalWithoutRange: a server that ignores Range sends the
// whole journal, which is used if it is within the limit.
func TestVerifyJournalWithoutRange(t *testing.T) {
	tt := newTestTree(t, map[string]string{"a": "alpha", "b": "beta"})
	noRange := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del("Range")
			h.ServeHTTP(w, r)
		})
	}
	base := serveTree(t, tt.root, noRange)
	c := NewClient(upstream.Config{}, nil)
	c.MaxJournalBytes = 1000
	ver, err := c.Verify(context.Background(), base, "a", tt.verifier)
	if err != nil || ver.Index != 0 {
		t.Fatalf("record %d, %v", ver.Index, err)
	}
	c.MaxJournalBytes = 10
	if _, err := c.Verify(context.Background(), base, "a", tt.verifier); err == nil || !strings.Contains(err.Error(), "ignores Range requests") {
		t.Fatalf("journal over the limit: %v", err)
	}
}

func fetchOpts(tt *testTree, url, out string) Options {
	return Options{URL: url, Verifier: tt.verifier, Output: out}
}

func TestFetchResumesPart(t *testing.T) {
	tt := newTestTree(t, map[string]string{"pool/big.bin": strings.Repeat("0123456789", 10000)})
	var log reqLog
	base := serveTree(t, tt.root, log.wrap)
	want := tt.file(t, "pool/big.bin")
	out := filepath.Join(t.TempDir(), "big.bin")

	os.WriteFile(out+".part", want[:40000], 0o644)
	res, err := Fetch(context.Background(), fetchOpts(tt, base+"pool/big.bin", out))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("output differs")
	}
	if _, err := os.Stat(out + ".part"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf(".part left behind: %v", err)
	}
	if reqs := log.downloads("/pool/big.bin"); len(reqs) != 1 || reqs[0].rng != "bytes=40000-" {
		t.Fatalf("file requests %+v, want one for bytes=40000-", reqs)
	}
	if res.MirrorUsed != base+"pool/big.bin" || res.Size != 100000 || res.Record != 0 {
		t.Fatalf("result %+v", res)
	}
	fi, _ := os.Stat(out)
	if rec := mustRecord(t, tt, base, "pool/big.bin"); fi.ModTime().Unix() != rec.MTime {
		t.Fatalf("mtime %v, want the record's %d", fi.ModTime(), rec.MTime)
	}

	// A .part whose bytes are wrong: the resumed download does not verify,
	// so the same mirror is asked again from zero.
	os.Remove(out)
	os.WriteFile(out+".part", bytes.Repeat([]byte("x"), 40000), 0o644)
	res, err = Fetch(context.Background(), fetchOpts(tt, base+"pool/big.bin", out))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
		t.Fatal("output differs")
	}
	var hm *HashMismatchError
	if n := len(res.Tried); n != 3 || !errors.As(res.Tried[1].Err, &hm) || res.Tried[2].Err != nil {
		t.Fatalf("tried %+v, want verify, a mismatch, then success", res.Tried)
	}
}

func mustRecord(t *testing.T, tt *testTree, base, p string) journal.Record {
	t.Helper()
	rec, _, _, err := VerifyRecord(context.Background(), base, p, tt.verifier)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestFetchExistingOutput(t *testing.T) {
	tt := newTestTree(t, map[string]string{"f": "the file"})
	var log reqLog
	base := serveTree(t, tt.root, log.wrap)
	out := filepath.Join(t.TempDir(), "f")
	ctx := context.Background()

	os.WriteFile(out, []byte("the file"), 0o644)
	res, err := Fetch(ctx, fetchOpts(tt, base+"f", out))
	if err != nil || res.MirrorUsed != "" || len(log.downloads("/f")) != 0 {
		t.Fatalf("output already right: %+v, %v; requests %+v", res, err, log.downloads("/f"))
	}
	os.WriteFile(out, []byte("other bytes"), 0o644)
	if _, err := Fetch(ctx, fetchOpts(tt, base+"f", out)); !errors.Is(err, ErrExists) {
		t.Fatalf("other bytes: %v", err)
	}
	if got, _ := os.ReadFile(out); string(got) != "other bytes" {
		t.Fatal("refused fetch changed the output")
	}
	o := fetchOpts(tt, base+"f", out)
	o.Force = true
	if _, err := Fetch(ctx, o); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "the file" {
		t.Fatalf("forced fetch wrote %q", got)
	}
}

func TestFetchSymlinkAndEmpty(t *testing.T) {
	tt := newTestTree(t, map[string]string{"pool/a-1.0.tar": "version one", "empty": ""})
	if err := os.Symlink("pool/a-1.0.tar", filepath.Join(tt.root, "latest.tar")); err != nil {
		t.Fatal(err)
	}
	tt.publish(t)
	base := serveTree(t, tt.root, nil)
	dir := t.TempDir()

	res, err := Fetch(context.Background(), fetchOpts(tt, base+"latest.tar", filepath.Join(dir, "latest.tar")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != "latest.tar" || res.Target != "pool/a-1.0.tar" || res.MirrorUsed != base+"pool/a-1.0.tar" {
		t.Fatalf("result %+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "latest.tar")); string(got) != "version one" {
		t.Fatalf("output %q", got)
	}
	if _, err := Fetch(context.Background(), fetchOpts(tt, base+"empty", filepath.Join(dir, "empty"))); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "empty")); err != nil || fi.Size() != 0 {
		t.Fatalf("empty file: %v", err)
	}
}

// TestFetchMirrorsJSON: a hub without per-file mirror lists still offers
// mirrors.json; mirrors are tried in weighted order, weight 0 never.
func TestFetchMirrorsJSON(t *testing.T) {
	tt := newTestTree(t, map[string]string{"pool/x.tar": "x bytes"})
	var good, disabled reqLog
	goodURL := serveTree(t, tt.root, good.wrap)
	disabledURL := serveTree(t, tt.root, disabled.wrap)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/"
	dead.Close()
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mirrors.json" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"mirrors":[{"url_prefix":%q,"weight":50},{"url_prefix":%q,"weight":0},{"url_prefix":%q,"weight":50}]}`,
			deadURL, disabledURL, goodURL)
	}))
	defer hub.Close()
	out := filepath.Join(t.TempDir(), "x.tar")
	o := fetchOpts(tt, hub.URL+"/pool/x.tar", out)
	o.Rand = rand.New(rand.NewPCG(1, 2))
	res, err := Fetch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.MirrorUsed != goodURL+"pool/x.tar" || len(disabled.reqs) != 0 {
		t.Fatalf("used %s; requests to the disabled mirror %+v", res.MirrorUsed, disabled.reqs)
	}
}

func TestWeighted(t *testing.T) {
	ms := []config.JSONMirror{{URLPrefix: "a", Weight: 1}, {URLPrefix: "b", Weight: 9}, {URLPrefix: "off", Weight: 0}}
	rnd := rand.New(rand.NewPCG(7, 7))
	first := map[string]int{}
	for i := 0; i < 2000; i++ {
		order := weighted(ms, rnd)
		if len(order) != 2 {
			t.Fatalf("order %+v: want the two enabled mirrors", order)
		}
		first[order[0].URLPrefix]++
	}
	if first["b"] < 1700 || first["b"] > 1900 {
		t.Fatalf("weight 9 of 10 came first %d times in 2000", first["b"])
	}
}

// TestFetchFindsTreeBelowPrefix: a mirror URL whose tree is not at the
// server's root, with no hub: the tree is found by its .pando/checkpoint.
func TestFetchFindsTreeBelowPrefix(t *testing.T) {
	tt := newTestTree(t, map[string]string{"pool/a/x.tar": "x"})
	base := serveTree(t, tt.root, func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/pub/repo/", http.StripPrefix("/pub/repo", h))
		return mux
	})
	out := filepath.Join(t.TempDir(), "x.tar")
	res, err := Fetch(context.Background(), fetchOpts(tt, base+"pub/repo/pool/a/x.tar", out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Path != "pool/a/x.tar" || res.Tree != base+"pub/repo/" {
		t.Fatalf("path %q in tree %s", res.Path, res.Tree)
	}
}

func TestFromMirrorList(t *testing.T) {
	discard := testLogger()
	ml := &mirrorList{Path: "pool/x", Mirrors: []listedMirror{
		{Name: "m1", URL: "http://m1/repo/pool/x"},
		{Name: "elsewhere", URL: "http://m2/pool/y"},
		{Name: "ftp", URL: "ftp://m3/pool/x"},
		{Name: "m4", URL: "https://m4/pool/x"},
	}}
	pl, err := fromMirrorList(ml, "pool/x", "", discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.sources) != 2 || pl.sources[0].tree != "http://m1/repo/" || pl.sources[1].tree != "https://m4/" {
		t.Fatalf("sources %+v", pl.sources)
	}
	// The hub cannot send the client to another file than the URL names.
	if _, err := fromMirrorList(&mirrorList{Path: "evil.exe"}, "pool/x", "", discard); err == nil {
		t.Fatal("a mirror list for another path was accepted")
	}
	if _, err := fromMirrorList(&mirrorList{Path: "x"}, "pool/x", "", discard); err == nil {
		t.Fatal("a path that is only a suffix of the URL's was accepted")
	}
	if _, err := fromMirrorList(&mirrorList{Path: "../etc/passwd"}, "../etc/passwd", "", discard); err == nil {
		t.Fatal("a bad path was accepted")
	}
	// With the path given, the hub's must be that one.
	if pl, err := fromMirrorList(&mirrorList{Path: "x", Mirrors: []listedMirror{}}, "pool/x", "x", discard); err != nil || pl.path != "x" {
		t.Fatalf("path given: %+v, %v", pl, err)
	}
}

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
