package mirror

import (
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

	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/progress"
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

// fetcher stages blobs: each verified blob ends up as staging/<sha256-hex>.
type fetcher struct {
	root    string
	staging string
	src     source
	lim     *limiter
	meter   *progress.Meter
	jobs    int
}

// stats counts what a fetch did.
type stats struct {
	fetched, reused, staged int
	bytes                   int64
}

func (f *fetcher) stagedName(b blob) string { return filepath.Join(f.staging, b.hex()) }

// fetchAll stages every blob, jobs at a time.
func (f *fetcher) fetchAll(ctx context.Context, blobs []blob) (stats, error) {
	var st stats
	type result struct {
		kind  int // 0 staged already, 1 reused, 2 fetched
		bytes int64
	}
	results := make([]result, len(blobs))
	var total int64
	for _, b := range blobs {
		total += b.size
	}
	f.meter.SetTotal(total)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(f.jobs)
	for i, b := range blobs {
		g.Go(func() error {
			kind, n, err := f.stage(gctx, b)
			results[i] = result{kind, n}
			f.meter.Item()
			return err
		})
	}
	err := g.Wait()
	for _, r := range results {
		switch r.kind {
		case 0:
			st.staged++
		case 1:
			st.reused++
		case 2:
			st.fetched++
		}
		st.bytes += r.bytes
	}
	return st, err
}

// stage makes one blob available in staging: already there, copied from a
// local file holding the same bytes, or fetched (resuming a partial fetch).
func (f *fetcher) stage(ctx context.Context, b blob) (kind int, n int64, err error) {
	final := f.stagedName(b)
	if fi, err := os.Stat(final); err == nil && fi.Size() == b.size {
		f.meter.Add(b.size)
		return 0, 0, nil // verified before it was given this name
	}
	if b.local != "" {
		if err := f.copyLocal(b, final); err == nil {
			return 1, 0, nil
		}
		// The local copy is damaged or gone: fetch instead.
	}
	n, err = f.download(ctx, b, final)
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
	if err == nil {
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

// download fetches b into final, resuming from final+".part" if a previous
// run left one, and renames it to final only once size and hash are right.
func (f *fetcher) download(ctx context.Context, b blob, final string) (int64, error) {
	part := final + ".part"
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	h := sha256.New()
	have, err := hashPrefix(out, h, b.size)
	if err != nil {
		return 0, err
	}
	body, start, err := f.src.Open(ctx, b.from, have)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	if start != have { // the source could not resume: start over
		if err := out.Truncate(0); err != nil {
			return 0, err
		}
		h.Reset()
		have = 0
	}
	if _, err := out.Seek(have, io.SeekStart); err != nil {
		return 0, err
	}
	f.meter.Add(have)
	want := b.size - have
	r := io.LimitReader(f.lim.reader(ctx, body), want+1)
	n, err := io.Copy(io.MultiWriter(out, h, meterWriter{f.meter}), r)
	if err != nil {
		return n, fmt.Errorf("%s: %w", b.from, err)
	}
	if n != want {
		os.Remove(part)
		return n, &SizeMismatchError{Path: b.from, Upstream: f.src.Name(), Want: b.size, Got: have + n}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.hex() {
		os.Remove(part)
		return n, &HashMismatchError{Path: b.from, Upstream: f.src.Name(), Want: b.hex(), Got: got}
	}
	if err := out.Sync(); err != nil {
		return n, err
	}
	if err := out.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(part, final) // the name is made durable by one SyncDir after all are staged
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
