package mirror

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pando-mirror/pando/internal/batch"
)

// batchMemSource is a memSource that also answers batches, with answer
// writing each one.
type batchMemSource struct {
	*memSource
	answer  func(w *batch.Writer, paths []string) // returns early to cut the answer off
	refuse  bool                                  // Batches says no, as for an error it may retry
	probes  atomic.Int64                          // calls of Batches
	batches atomic.Int64
}

func (s *batchMemSource) Batches(context.Context) bool {
	s.probes.Add(1)
	return !s.refuse
}

func (s *batchMemSource) Batch(_ context.Context, paths []string, max int64) (batchReader, error) {
	s.batches.Add(1)
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	s.answer(batch.NewWriter(bw), paths)
	bw.Flush()
	return nopCloser{batch.NewReader(&out, max)}, nil
}

type nopCloser struct{ *batch.Reader }

func (nopCloser) Close() error { return nil }

// TestBatchFallsBack: what a batch delivers right is kept, and everything
// else (not served, wrong bytes, wrong size, the answer cut off) is fetched
// alone, whose error is the one that stands.
func TestBatchFallsBack(t *testing.T) {
	src := &batchMemSource{memSource: &memSource{name: "up", files: map[string][]byte{}}}
	var blobs []blob
	for i := range 40 {
		p := fmt.Sprintf("f%02d", i)
		data := []byte(strings.Repeat(p, 10+i))
		blobs = append(blobs, blob{sha: sha256.Sum256(data), size: int64(len(data)), from: p, uses: 1})
		if p != "f05" { // missing upstream
			src.files[p] = data
		}
	}
	src.answer = func(w *batch.Writer, paths []string) {
		for i, p := range paths {
			data := src.files[p]
			switch {
			case i == 1 || p == "f05":
				w.Missing()
			case i == 2:
				w.File(int64(len(data)), bytes.NewReader(bytes.Repeat([]byte("x"), len(data))))
			case i == 3:
				w.File(int64(len(data)-1), bytes.NewReader(data))
			case i == 20: // cut off in the middle of the entry
				w.File(int64(len(data)), io.LimitReader(bytes.NewReader(data), 5))
				return
			default:
				w.File(int64(len(data)), bytes.NewReader(data))
			}
		}
	}
	staging := t.TempDir()
	f := &fetcher{staging: staging, src: src, jobs: 1} // one run of all 40
	st, errs, err := f.fetchEach(t.Context(), blobs, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := src.batches.Load(); n != 1 {
		t.Errorf("%d batches asked for, want 1", n)
	}
	// Delivered right: entries 0 and 4 to 19 but 5.
	if st.fetched != 39 || st.batched != 16 {
		t.Errorf("%d fetched, %d in the batch; want 39 and 16", st.fetched, st.batched)
	}
	if f.batchFails != 1 || f.batchErr == nil || !strings.Contains(f.batchErr.Error(), "entry 21") {
		t.Errorf("%d failed batches, first %v; want the one cut off in entry 21", f.batchFails, f.batchErr)
	}
	if n := src.opens.Load(); n != 24 {
		t.Errorf("%d files fetched alone, want the 24 the batch did not deliver", n)
	}
	for i, b := range blobs {
		if b.from == "f05" {
			if errs[i] == nil || !strings.Contains(errs[i].Error(), "f05: 404") {
				t.Errorf("missing blob: %v, want the error of its own fetch", errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Errorf("%s: %v", b.from, errs[i])
		}
		if got, _ := os.ReadFile(filepath.Join(staging, b.hex())); !bytes.Equal(got, src.files[b.from]) {
			t.Errorf("%s: staged bytes are not the blob", b.from)
		}
	}
}

// TestBatchesFromSeveralSources: a fetch from several sources (a restore)
// sends each run's blobs in one batch to each source that answers batches,
// fetches the others' alone, and asks each source once whether it answers,
// however many runs there are.
func TestBatchesFromSeveralSources(t *testing.T) {
	files := map[string][]byte{}
	var blobs []blob
	for i := range 256 {
		p := fmt.Sprintf("f%03d", i)
		files[p] = []byte(strings.Repeat(p, 5+i%7))
		blobs = append(blobs, blob{sha: sha256.Sum256(files[p]), size: int64(len(files[p])), from: p, uses: 1})
	}
	yes := &batchMemSource{memSource: &memSource{name: "yes", files: files}}
	no := &batchMemSource{memSource: &memSource{name: "no", files: files}, refuse: true}
	for _, s := range []*batchMemSource{yes, no} {
		s.answer = func(w *batch.Writer, paths []string) {
			for _, p := range paths {
				w.File(int64(len(files[p])), bytes.NewReader(files[p]))
			}
		}
	}
	var served atomic.Int64
	f := &fetcher{staging: t.TempDir(), jobs: 4,
		locate: func(b blob) []location { // every other blob starts at yes
			var n int
			fmt.Sscanf(b.from, "f%d", &n)
			if n%2 == 0 {
				return []location{{yes, b.from}, {no, b.from}}
			}
			return []location{{no, b.from}, {yes, b.from}}
		},
		tried: func(b blob, loc location, n int64, err error) {
			if err == nil {
				served.Add(1)
			}
		},
	}
	st, errs, err := f.fetchEach(t.Context(), blobs, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", blobs[i].from, err)
		}
	}
	if st.fetched != 256 || st.batched != 128 || served.Load() != 256 {
		t.Errorf("%d fetched, %d in batches, %d told as served; want 256, the 128 that start at yes, 256", st.fetched, st.batched, served.Load())
	}
	if p := no.probes.Load(); p != 1 {
		t.Errorf("the source without batches was asked %d times whether it answers them, want once", p)
	}
	if p, b := yes.probes.Load(), yes.batches.Load(); p != 1 || b < 2 {
		t.Errorf("the source with batches: asked %d times, %d batches; want once, and a batch per run", p, b)
	}
	if n := no.opens.Load(); n != 128 {
		t.Errorf("%d files fetched alone from the source without batches, want its 128", n)
	}
}
