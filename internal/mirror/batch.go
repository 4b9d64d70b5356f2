package mirror

// Batches: a source that serves many files in one answer (a pando server;
// package batch) gets the small blobs of a run of the plan asked for in one
// request, instead of one each. The blobs it delivers are verified and kept
// exactly as fetchSmall keeps a blob fetched alone; any it does not (not
// served, the wrong size or bytes, an answer cut off) are then fetched
// alone, so a batch never decides that a blob is missing or tampered with:
// the fetch of the blob alone does, and its error says so as it always has.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
)

// A batchSource is a source that also serves many files in one request.
type batchSource interface {
	source
	// Batches reports whether the source answers batch requests.
	Batches(ctx context.Context) bool
	// Batch asks for the files at paths, none larger than max bytes.
	Batch(ctx context.Context, paths []string, max int64) (batchReader, error)
}

// A batchReader reads a batch answer: Next moves to the next path's entry
// (ok false: not served), Read reads its bytes.
type batchReader interface {
	Next() (size int64, ok bool, err error)
	io.Reader
	io.Closer
}

const (
	// batchRun is how many consecutive blobs a fetch worker takes at once
	// when the source answers batches; its small ones go in one request.
	batchRun = 128
	// batchWorkers bounds the fetch workers of a fetch from one source
	// that answers batches: twice the connections, so that a connection whose answer
	// has been read takes the next request while its worker still keeps
	// the answer's last files. More were measured no faster.
	batchWorkers = 16
	// minBatched is the fewest blobs worth asking a source whether it
	// answers batches (one round trip).
	minBatched = 32
)

// batchable reports whether b would be fetched whole from the plan's
// source: small, not reusable from a local file, nothing of it staged.
func (f *fetcher) batchable(b blob) bool {
	return b.size <= smallBlob && b.local == "" && !(b.inPlace && f.linker != nil) &&
		!f.present[b.hex()] && !f.present[b.hex()+".part"]
}

// useBatches reports whether this fetch asks for batches: it has enough
// batchable blobs to gain by it and, from one source, that source answers
// them. A fetch from several sources asks each one the first time a batch
// would go to it (see answersBatches).
func (f *fetcher) useBatches(ctx context.Context, blobs []blob) bool {
	n := 0
	for _, b := range blobs {
		if f.batchable(b) {
			n++
		}
	}
	if n < minBatched {
		return false
	}
	if f.locate != nil {
		return true
	}
	_, ok := f.answersBatches(ctx, f.src)
	return ok
}

// firstLocation returns the source b is fetched from first and b's path
// there.
func (f *fetcher) firstLocation(b blob) (source, string, bool) {
	if f.locate == nil {
		return f.src, b.from, true
	}
	locs := f.locate(b)
	if len(locs) == 0 {
		return nil, "", false
	}
	return locs[0].src, locs[0].path, true
}

// answersBatches reports whether src answers batches, asking it once per
// fetch (callers at the same time wait for the one answer): a source whose
// answer was not definite (an error, a busy server) is not asked again for
// every run.
func (f *fetcher) answersBatches(ctx context.Context, src source) (batchSource, bool) {
	bs, ok := src.(batchSource)
	if !ok {
		return nil, false
	}
	f.mu.Lock()
	a := f.batchSources[src]
	if a == nil {
		if f.batchSources == nil {
			f.batchSources = make(map[source]*batchAnswer)
		}
		a = new(batchAnswer)
		f.batchSources[src] = a
	}
	f.mu.Unlock()
	a.once.Do(func() { a.yes = bs.Batches(ctx) })
	return bs, a.yes
}

// A batchAnswer is a source's answer to whether it answers batches.
type batchAnswer struct {
	once sync.Once
	yes  bool
}

// A batchGroup is the blobs of a run that go first to one source: their
// indexes in the run's blobs and their paths at the source.
type batchGroup struct {
	src   source
	idx   []int
	paths []string
}

// fetchBatch asks the sources for the batchable blobs of blobs[from:to],
// one request per source that answers batches (a fetch from one source
// makes one), and keeps each blob delivered, recording its result. It
// returns whether each blob is done; the caller stages the rest alone. Only
// a failure to keep a delivered blob (the local disk) without keepGoing is
// an error.
func (f *fetcher) fetchBatch(ctx context.Context, blobs []blob, from, to int, results []result, errs []error, keepGoing bool, near *dirWalker) ([]bool, error) {
	done := make([]bool, to-from)
	var groups []batchGroup
	for i := from; i < to; i++ {
		if !f.batchable(blobs[i]) {
			continue
		}
		src, at, ok := f.firstLocation(blobs[i])
		if !ok {
			continue
		}
		k := slices.IndexFunc(groups, func(g batchGroup) bool { return g.src == src })
		if k < 0 {
			k = len(groups)
			groups = append(groups, batchGroup{src: src})
		}
		groups[k].idx = append(groups[k].idx, i)
		groups[k].paths = append(groups[k].paths, at)
	}
	for _, g := range groups {
		if len(g.idx) < 2 {
			continue // alone costs the same
		}
		bs, ok := f.answersBatches(ctx, g.src)
		if !ok {
			continue
		}
		if err := f.batchFrom(ctx, bs, g, blobs, from, done, results, keepGoing, near); err != nil {
			return done, err
		}
	}
	return done, nil
}

// batchFrom makes g's request of bs and keeps what its answer delivers
// right. A blob it cannot keep is left to be fetched alone, which records
// the failure as for any other blob.
func (f *fetcher) batchFrom(ctx context.Context, bs batchSource, g batchGroup, blobs []blob, from int, done []bool, results []result, keepGoing bool, near *dirWalker) error {
	r, err := bs.Batch(ctx, g.paths, smallBlob)
	if err != nil {
		f.batchFailed(err)
		return nil // each is fetched alone, which says what is wrong
	}
	defer r.Close()
	body := f.lim.reader(ctx, r)
	buf := smallPool.Get().(*bytes.Buffer)
	defer smallPool.Put(buf)
	for k, i := range g.idx {
		b := blobs[i]
		size, ok, err := r.Next()
		if err != nil {
			f.batchFailed(err)
			break // the answer is broken or short: the rest alone
		}
		if !ok || size != b.size {
			continue
		}
		buf.Reset()
		n, err := buf.ReadFrom(body)
		if err != nil {
			f.batchFailed(err)
			break
		}
		if n != b.size || sha256.Sum256(buf.Bytes()) != b.sha {
			continue
		}
		f.meter.Add(n)
		if err := f.keepSmall(ctx, b, buf.Bytes(), near); err != nil {
			f.meter.Add(-n)
			if !keepGoing || ctx.Err() != nil {
				return err
			}
			continue
		}
		if f.tried != nil {
			f.tried(b, location{bs, g.paths[k]}, n, nil)
		}
		results[i] = result{3, n}
		f.meter.Item()
		done[i-from] = true
	}
	return nil
}

// warnBatchFails logs, once for the fetch, how many batch requests or
// answers failed and the first error, with args naming the fetch.
func (f *fetcher) warnBatchFails(log *slog.Logger, args ...any) {
	if f.batchFails == 0 {
		return
	}
	log.Warn("batch answers failed; their files were fetched one by one",
		append(args, "failed", f.batchFails, "first", f.batchErr)...)
}

// batchFailed counts a batch request or answer that failed, keeping the
// first error, for the one warning the sync logs about them.
func (f *fetcher) batchFailed(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batchFails++; f.batchFails == 1 {
		f.batchErr = err
	}
}
