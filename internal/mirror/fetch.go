package mirror

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/safefile"
)

// A HashMismatchError means an upstream served bytes other than the ones its
// signed log names for a path: tampering or corruption, never used.
type HashMismatchError struct {
	Path     string
	Upstream string
	Want     string // hex SHA-256 the log names
	Got      string // hex SHA-256 of what was served
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("%s: %s served bytes with sha256 %s, the signed log says %s", e.Path, e.Upstream, e.Got, e.Want)
}

// A SizeMismatchError means an upstream served more or fewer bytes than the
// signed log names for a path.
type SizeMismatchError struct {
	Path     string
	Upstream string
	Want     int64
	Got      int64
}

func (e *SizeMismatchError) Error() string {
	return fmt.Sprintf("%s: %s served %d bytes, the signed log says %d", e.Path, e.Upstream, e.Got, e.Want)
}

// A source opens a tree path's bytes from offset, returning the offset the
// reader really starts at (0 when the source cannot resume).
type source interface {
	Open(ctx context.Context, path string, offset int64) (io.ReadCloser, int64, error)
	Name() string
}

// A location is a source and the tree path at which it should hold a blob.
type location struct {
	src  source
	path string
}

// fetcher stages blobs: each verified blob ends up as staging/<sha256-hex>.
// A blob comes from src at its from path, or, when locate is set, from the
// locations it returns, tried in order until one serves the right bytes.
type fetcher struct {
	root    string
	staging string
	src     source
	lim     *limiter
	meter   *progress.Meter
	jobs    int
	// syncEach fsyncs every staged file as it is written; otherwise the
	// caller makes the whole batch durable with one SyncFS.
	syncEach bool

	// present holds the names in staging when the fetch started: a blob
	// or part that is not there need not be looked for.
	present map[string]bool
	dir     *stagingDir // open while fetching

	// direct places the blobs that name a path (blob.direct) there, through
	// linker, which runs while fetchEach does.
	direct bool
	linker *linker
	// intentWritten waits for the run's intent to be durable and returns
	// the error writing it gave; the linker calls it before it names a
	// file. Nil: nothing to wait for.
	intentWritten func() error
	mu            sync.Mutex
	placed        []string // paths found holding their blob already

	// batches: this fetch asks for batches; batchSources holds each
	// asked source's answer (the map under mu); batchFails counts the
	// requests or answers that failed (under mu), batchErr is the first
	// one's error.
	batches      bool
	batchSources map[source]*batchAnswer
	batchFails   int
	batchErr     error

	locate func(b blob) []location
	// tried, when set, is told the outcome of every download attempt:
	// n bytes received from loc, and err nil if they were the blob.
	tried func(b blob, loc location, n int64, err error)
}

// batchSync is the number of staged files from which one syncfs(2) of the
// whole file system is cheaper than an fsync per file.
const batchSync = 512

// syncEachBelow reports whether a batch of files is synced file by file:
// below batchSync, and always where there is no syncfs(2).
func syncEachBelow(files int) bool { return files < batchSync || !safefile.CanSyncFS }

// durable makes every staged file, bytes and name, durable: by one SyncFS
// for a large batch, or, when each file was synced as it was written, by a
// sync of the staging directory.
func (f *fetcher) durable() error {
	if f.syncEach {
		return safefile.SyncDir(f.staging)
	}
	return safefile.SyncFS(f.staging)
}

// A result is what staging one blob did.
type result struct {
	kind  int // 0 staged already, 1 reused, 2 fetched alone, 3 fetched in a batch
	bytes int64
}

// stats counts what a fetch did.
type stats struct {
	fetched, batched, reused, staged int // batched: of fetched, in batches
	bytes                            int64
	placed                           map[string]bool // paths placed directly
}

func (f *fetcher) stagedName(b blob) string { return filepath.Join(f.staging, b.hex()) }

// fetchAll stages every blob, jobs at a time, and stops at the first blob
// that cannot be staged.
func (f *fetcher) fetchAll(ctx context.Context, blobs []blob) (stats, error) {
	st, _, err := f.fetchEach(ctx, blobs, false)
	return st, err
}

// fetchEach stages every blob, jobs at a time. With keepGoing, a blob that
// cannot be staged does not stop the others: its error is returned at its
// index in errs, and err is only the context's. Without it, the first failure
// stops the rest and is returned as err.
func (f *fetcher) fetchEach(ctx context.Context, blobs []blob, keepGoing bool) (st stats, errs []error, err error) {
	results := make([]result, len(blobs))
	errs = make([]error, len(blobs))
	if f.present, err = listDir(f.staging); err != nil {
		return st, errs, err
	}
	var total int64
	for _, b := range blobs {
		total += b.size
	}
	f.meter.SetTotal(total)
	if f.dir, err = openStaging(f.staging); err != nil {
		return st, errs, err
	}
	defer f.dir.close()
	var tree *os.Root // where blobs are made near their paths; none: in staging
	if f.root != "" {
		if tree, err = os.OpenRoot(f.root); err != nil {
			return st, errs, err
		}
		defer tree.Close()
	}
	if f.direct && tree != nil {
		f.linker = newLinker(f, tree)
		go f.linker.run()
		defer func() {
			lerr := f.linker.close()
			if err == nil {
				err = lerr
			}
			st.placed = make(map[string]bool, len(f.linker.placed)+len(f.placed))
			for _, p := range append(f.linker.placed, f.placed...) {
				st.placed[p] = true
			}
			f.linker = nil
		}()
	}
	// jobs workers take the blobs in turn (a goroutine each would grow a
	// fresh stack for every blob), a few at a time, or a batch's worth at a
	// time from a source that answers batches.
	take, workers := takeBlobs, min(f.jobs, len(blobs))
	f.batches = f.useBatches(ctx, blobs)
	if f.batches {
		// One source answering batches needs few workers; several sources,
		// some of which may not, keep them all.
		if f.locate == nil {
			workers = min(workers, batchWorkers)
		}
		// Runs no longer than it takes to give every worker one, so that a
		// small sync still fetches side by side.
		take = min(batchRun, max(minBatched, (len(blobs)+workers-1)/workers))
	}
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range workers {
		g.Go(func() error {
			var near *dirWalker
			if tree != nil {
				var werr error
				if near, werr = newDirWalker(tree); werr != nil {
					return werr
				}
				near.keep = true // a fetch never touches what the tree serves
				defer near.close()
			}
			// A worker takes a few blobs at a time: in path order, they
			// mostly share a directory, which its walker then opens once.
			for end := int(next.Add(int64(take))); end-take < len(blobs); end = int(next.Add(int64(take))) {
				if err := f.stageRun(gctx, blobs, end-take, min(end, len(blobs)), results, errs, keepGoing, near); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err = g.Wait()
	for i, r := range results {
		switch {
		case errs[i] != nil:
		case r.kind == 0:
			st.staged++
		case r.kind == 1:
			st.reused++
		case r.kind == 2:
			st.fetched++
		case r.kind == 3:
			st.fetched++
			st.batched++
		}
		st.bytes += r.bytes
	}
	return st, errs, err
}

// takeBlobs is how many consecutive blobs a fetch worker takes at once.
const takeBlobs = 8

// stageRun stages blobs[from:to] in order, recording each outcome, and
// returns the first error that stops the fetch.
func (f *fetcher) stageRun(ctx context.Context, blobs []blob, from, to int, results []result, errs []error, keepGoing bool, near *dirWalker) error {
	var done []bool // by a batch
	if f.batches {
		var err error
		if done, err = f.fetchBatch(ctx, blobs, from, to, results, errs, keepGoing, near); err != nil {
			return err
		}
	}
	for i := from; i < to; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if done != nil && done[i-from] {
			continue
		}
		kind, n, err := f.stage(ctx, blobs[i], near)
		results[i] = result{kind, n}
		f.meter.Item()
		if err != nil && keepGoing && ctx.Err() == nil {
			errs[i], err = err, nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stage makes one blob available in staging: already there, copied from a
// local file holding the same bytes, or fetched (resuming a partial fetch).
// near walks to the directory the blob will be installed in.
func (f *fetcher) stage(ctx context.Context, b blob, near *dirWalker) (kind int, n int64, err error) {
	final := f.stagedName(b)
	if b.inPlace && f.linker != nil && holdsInPlace(near, b) {
		f.mu.Lock()
		f.placed = append(f.placed, b.direct)
		f.mu.Unlock()
		f.meter.Add(b.size)
		return 0, 0, nil
	}
	if f.present[b.hex()] {
		if fi, err := os.Stat(final); err == nil && fi.Size() == b.size {
			f.meter.Add(b.size)
			return 0, 0, nil // verified before it was given this name
		}
	}
	if b.local != "" {
		if err := f.copyLocal(b, final); err == nil {
			return 1, 0, nil
		}
		// The local copy is damaged or gone: fetch instead.
	}
	n, err = f.download(ctx, b, final, near)
	return 2, n, err
}

func (f *fetcher) copyLocal(b blob, final string) error {
	src, err := os.Open(filepath.Join(f.root, filepath.FromSlash(b.local)))
	if err != nil {
		return err
	}
	defer src.Close()
	part := final + ".part"
	dst, err := os.Create(part)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	if err == nil && f.syncEach {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil && (n != b.size || hex.EncodeToString(h.Sum(nil)) != b.hex()) {
		err = errors.New("local copy does not match")
	}
	if err != nil {
		os.Remove(part)
		return err
	}
	f.meter.Add(b.size)
	return os.Rename(part, final)
}

// download fetches b into final from the first of its locations that
// serves the right bytes. One location's error is returned as it is; when
// every one of several fails, an *UnavailableError lists them all.
func (f *fetcher) download(ctx context.Context, b blob, final string, near *dirWalker) (int64, error) {
	locs := []location{{f.src, b.from}}
	if f.locate != nil {
		locs = f.locate(b)
	}
	var total int64
	var errs []error
	for _, loc := range locs {
		n, err := f.downloadFrom(ctx, b, final, loc, near)
		total += n
		if ctx.Err() != nil {
			return total, err
		}
		if f.tried != nil {
			f.tried(b, loc, n, err)
		}
		if err == nil || len(locs) == 1 {
			return total, err
		}
		errs = append(errs, err)
	}
	return total, &UnavailableError{Path: b.from, Errs: errs}
}

// An UnavailableError means no source served a blob's bytes; Errs holds
// each source's failure, in the order they were tried.
type UnavailableError struct {
	Path string
	Errs []error
}

func (e *UnavailableError) Error() string {
	if len(e.Errs) == 0 {
		return e.Path + ": no source holds it"
	}
	return fmt.Sprintf("%s: no source served the right bytes: %v", e.Path, errors.Join(e.Errs...))
}

func (e *UnavailableError) Unwrap() []error { return e.Errs }

// downloadFrom fetches b from one location, resuming a partial file. If the
// bytes turn out wrong after a resume, the earlier part may have been the
// bad one (it can come from another source), so it starts over once.
func (f *fetcher) downloadFrom(ctx context.Context, b blob, final string, loc location, near *dirWalker) (int64, error) {
	if b.size <= smallBlob && !f.present[b.hex()+".part"] {
		return f.fetchSmall(ctx, b, final, loc, near)
	}
	n, resumed, err := f.fetchInto(ctx, b, final, loc)
	var hm *HashMismatchError
	if resumed && errors.As(err, &hm) {
		var m int64
		m, _, err = f.fetchInto(ctx, b, final, loc) // the part is gone: from the start
		n += m
	}
	return n, err
}

// fetchInto fetches b from loc into final, resuming from final+".part" if a
// previous attempt left one, and renames it to final only once size and hash
// are right. It reports whether it resumed.
func (f *fetcher) fetchInto(ctx context.Context, b blob, final string, loc location) (n int64, resumed bool, err error) {
	part := final + ".part"
	out, have, h, err := f.openPart(part, b)
	if err != nil {
		return 0, false, err
	}
	defer out.Close()
	body, start, err := loc.src.Open(ctx, loc.path, have)
	if err != nil {
		return 0, false, err
	}
	defer body.Close()
	if start != have { // the source could not resume: start over
		if err := out.Truncate(0); err != nil {
			return 0, false, err
		}
		h.Reset()
		have = 0
	}
	if have > 0 { // otherwise the file offset is still 0
		if _, err := out.Seek(have, io.SeekStart); err != nil {
			return 0, false, err
		}
	}
	f.meter.Add(have)
	defer func() {
		if err != nil { // the bytes are not done after all
			f.meter.Add(-have - n)
		}
	}()
	want := b.size - have
	r := io.LimitReader(f.lim.reader(ctx, body), want+1)
	n, err = copyBuffered(io.MultiWriter(out, h, meterWriter{f.meter}), r)
	if err != nil {
		return n, have > 0, fmt.Errorf("%s: %w", loc.path, err)
	}
	if n != want {
		os.Remove(part)
		return n, have > 0, &SizeMismatchError{Path: loc.path, Upstream: loc.src.Name(), Want: b.size, Got: have + n}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.hex() {
		os.Remove(part)
		return n, have > 0, &HashMismatchError{Path: loc.path, Upstream: loc.src.Name(), Want: b.hex(), Got: got}
	}
	if f.syncEach {
		if err := out.Sync(); err != nil {
			return n, have > 0, err
		}
	}
	if err := out.Close(); err != nil {
		return n, have > 0, err
	}
	// The name is made durable after all are staged.
	return n, have > 0, os.Rename(part, final)
}

// openPart opens the partial file of b for writing, and returns how many
// bytes of it a previous attempt fetched, with a hash of them. A part that
// was not there when the fetch started is created afresh.
func (f *fetcher) openPart(part string, b blob) (*os.File, int64, hash.Hash, error) {
	h := sha256.New()
	if !f.present[b.hex()+".part"] {
		out, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil || !errors.Is(err, fs.ErrExist) {
			return out, 0, h, err
		}
		// Left by an earlier attempt of this run: resume it as any other.
	}
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, nil, err
	}
	have, err := hashPrefix(out, h, b.size)
	if err != nil {
		out.Close()
		return nil, 0, nil, err
	}
	return out, have, h, nil
}

// copyBuffered copies r to w through a buffer of copyBuffer bytes, so that a
// small file is written, and hashed, in one call.
func copyBuffered(w io.Writer, r io.Reader) (int64, error) {
	bw := bufPool.Get().(*bufio.Writer)
	defer bufPool.Put(bw)
	bw.Reset(w)
	defer bw.Reset(nil)
	n, err := bw.ReadFrom(r)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// copyBuffer is the size of the write buffer of one fetch.
const copyBuffer = 256 << 10

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, copyBuffer) }}

// listDir returns the names in dir; a missing dir has none.
func listDir(dir string) (map[string]bool, error) {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// hashPrefix feeds the bytes a previous run already fetched into h and
// returns how many there are; a partial file longer than the blob is dropped.
func hashPrefix(f *os.File, h hash.Hash, size int64) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() >= size {
		return 0, f.Truncate(0)
	}
	return io.Copy(h, io.NewSectionReader(f, 0, fi.Size()))
}

type meterWriter struct{ m *progress.Meter }

func (w meterWriter) Write(p []byte) (int, error) { w.m.Add(int64(len(p))); return len(p), nil }

// clearStaging removes everything in the staging area after a successful run.
func clearStaging(root string) error {
	dir := filepath.Join(root, filepath.FromSlash(logdir.StagingDir))
	err := os.RemoveAll(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
