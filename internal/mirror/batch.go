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
	// batchWorkers bounds the fetch workers when the source answers
	// batches: twice the connections, so that a connection whose answer
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

// useBatches reports whether this fetch asks its source for batches: it
// has one source that answers them, and enough blobs to gain by it.
func (f *fetcher) useBatches(ctx context.Context, blobs []blob) bool {
	bs, ok := f.src.(batchSource)
	if !ok || f.locate != nil {
		return false
	}
	n := 0
	for _, b := range blobs {
		if f.batchable(b) {
			if n++; n >= minBatched {
				return bs.Batches(ctx)
			}
		}
	}
	return false
}

// fetchBatch asks the source for the batchable blobs of blobs[from:to] in
// one request and keeps each one it delivers, recording its result. It
// returns whether each blob is done (delivered, or failed to be kept, the
// error recorded); the caller stages the rest alone. Only a failure to keep
// a delivered blob (the local disk) is an error; keepGoing as for stageRun.
func (f *fetcher) fetchBatch(ctx context.Context, blobs []blob, from, to int, results []result, errs []error, keepGoing bool, near *dirWalker) ([]bool, error) {
	done := make([]bool, to-from)
	var idx []int
	var paths []string
	for i := from; i < to; i++ {
		if f.batchable(blobs[i]) {
			idx = append(idx, i)
			paths = append(paths, blobs[i].from)
		}
	}
	if len(idx) < 2 {
		return done, nil
	}
	bs := f.src.(batchSource)
	r, err := bs.Batch(ctx, paths, smallBlob)
	if err != nil {
		f.batchFailed(err)
		return done, nil // each is fetched alone, which says what is wrong
	}
	defer r.Close()
	body := f.lim.reader(ctx, r)
	buf := smallPool.Get().(*bytes.Buffer)
	defer smallPool.Put(buf)
	for _, i := range idx {
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
		err = f.keepSmall(ctx, b, buf.Bytes(), near)
		results[i] = result{3, n}
		f.meter.Item()
		done[i-from] = true
		if err != nil {
			f.meter.Add(-n)
			if !keepGoing || ctx.Err() != nil {
				return done, err
			}
			errs[i] = err
		}
	}
	return done, nil
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
