package get

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/safefile"
	"github.com/pando-mirror/pando/internal/upstream"
)

// maxTries bounds the attempts at one mirror: a resume after a connection
// cut, and a restart from zero when a resumed download does not verify.
const maxTries = 3

// want is what the signed record says the file is.
type want struct {
	path  string // the tree path to fetch
	size  int64
	sum   [32]byte
	mtime int64
}

func (w want) hex() string { return hex.EncodeToString(w.sum[:]) }

// download fetches w into Output through Output+".part", trying the sources
// in order. On failure the .part is kept only if it holds a prefix no mirror
// contradicted (a transfer that stopped), for the next run to resume.
func (r *run) download(ctx context.Context, srcs []source, w want) (string, error) {
	p, err := openPart(r.o.Output+".part", r.o.Meter)
	if err != nil {
		return "", err
	}
	used, err := r.fill(ctx, p, srcs, w)
	if err != nil {
		p.abandon()
		return "", err
	}
	if err := p.finish(r.o.Output, w.mtime); err != nil {
		return "", err
	}
	return used, nil
}

// fill makes the .part hold w's bytes.
func (r *run) fill(ctx context.Context, p *partFile, srcs []source, w want) (string, error) {
	if ok, err := p.complete(w); err != nil || ok {
		return "", err
	}
	var tried []Attempt
	for _, s := range srcs {
		u := fileURL(s.tree, w.path)
		for try := 0; try < maxTries; try++ {
			resumed, got, err := r.tryOnce(ctx, p, u, w)
			r.res.Tried = append(r.res.Tried, Attempt{URL: u, Step: "download", Err: err})
			if err == nil {
				return u, nil
			}
			if ctx.Err() != nil {
				return "", err
			}
			r.log.Warn("download failed", "url", u, "err", err)
			tried = append(tried, Attempt{URL: u, Step: "download", Err: err})
			if !retry(err, resumed, got) {
				break
			}
		}
	}
	return "", &NoMirrorError{Path: w.path, Size: w.size, SHA256: w.hex(), Tried: tried}
}

// retry says whether to try the same mirror again: after a mismatch or a
// refused Range of a resumed download (the old prefix may be what was wrong;
// the .part is now empty), or after a transfer that made progress and was
// cut off.
func retry(err error, resumed bool, got int64) bool {
	var hm *HashMismatchError
	var sm *SizeMismatchError
	if errors.As(err, &hm) || errors.As(err, &sm) {
		return resumed
	}
	var se *upstream.StatusError
	if errors.As(err, &se) {
		return resumed && se.Status == http.StatusRequestedRangeNotSatisfiable
	}
	return got > 0
}

// tryOnce fetches the rest of w from u into p, resuming after the bytes p
// already holds, and checks size and hash. On a mismatch p is emptied.
func (r *run) tryOnce(ctx context.Context, p *partFile, u string, w want) (resumed bool, got int64, err error) {
	h := sha256.New()
	have, err := p.prefix(h, w.size)
	if err != nil {
		return false, 0, err
	}
	body, start, err := r.c.open(ctx, u, have)
	var se *upstream.StatusError
	if have > 0 && errors.As(err, &se) && se.Status == http.StatusRequestedRangeNotSatisfiable {
		return true, 0, errors.Join(err, p.reset()) // the prefix is longer than the mirror's file
	}
	if err != nil {
		return have > 0, 0, err
	}
	defer body.Close()
	if start != have { // the server sent the whole file
		if err := p.reset(); err != nil {
			return false, 0, err
		}
		h.Reset()
		have = 0
	}
	p.setMeter(have)
	n, err := p.write(have, body, h, w.size-have+1)
	if err != nil {
		return have > 0, n, fmt.Errorf("%s: after %d bytes: %w", u, have+n, err)
	}
	if have+n != w.size {
		return have > 0, n, errors.Join(&SizeMismatchError{URL: u, Want: w.size, Got: have + n}, p.reset())
	}
	if sum := h.Sum(nil); !bytes.Equal(sum, w.sum[:]) {
		return have > 0, n, errors.Join(&HashMismatchError{URL: u, Want: w.hex(), Got: hex.EncodeToString(sum)}, p.reset())
	}
	return have > 0, n, nil
}

// checkOutput reports whether name already holds w's bytes. It refuses a
// name that holds other bytes unless force, and a directory always.
func checkOutput(name string, w want, force bool) (bool, error) {
	fi, err := os.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.IsDir() {
		return false, fmt.Errorf("%s: is a directory", name)
	}
	if fi.Mode().IsRegular() && fi.Size() == w.size {
		same, err := hasSum(name, w.sum)
		if err != nil || same {
			return same, err
		}
	}
	if force {
		return false, nil
	}
	return false, fmt.Errorf("%s: %w", name, ErrExists)
}

func hasSum(name string, sum [32]byte) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), sum[:]), nil
}

// A partFile is the download in progress, locked so two runs cannot write
// it at once.
type partFile struct {
	f       *os.File
	name    string
	meter   *progress.Meter
	metered int64 // bytes the meter counts
}

func openPart(name string, m *progress.Meter) (*partFile, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: another download is writing it", name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return &partFile{f: f, name: name, meter: m}, nil
}

// complete reports whether the .part already holds w's bytes, as when a
// previous run stopped just before its rename (or the file is empty).
func (p *partFile) complete(w want) (bool, error) {
	fi, err := p.f.Stat()
	if err != nil || fi.Size() != w.size {
		return false, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(p.f, 0, w.size)); err != nil {
		return false, err
	}
	return bytes.Equal(h.Sum(nil), w.sum[:]), nil
}

// prefix feeds the bytes the .part holds into h and returns their count.
// A .part as long as the file or longer cannot be a prefix to resume from
// (complete has been checked): it is emptied.
func (p *partFile) prefix(h hash.Hash, size int64) (int64, error) {
	fi, err := p.f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() >= size {
		return 0, p.reset()
	}
	return io.Copy(h, io.NewSectionReader(p.f, 0, fi.Size()))
}

// write appends at most limit bytes of body at offset have.
func (p *partFile) write(have int64, body io.Reader, h hash.Hash, limit int64) (int64, error) {
	if _, err := p.f.Seek(have, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(io.MultiWriter(p.f, h, meterWriter{p}), io.LimitReader(body, limit))
}

func (p *partFile) reset() error {
	p.setMeter(0)
	return p.f.Truncate(0)
}

func (p *partFile) setMeter(n int64) {
	p.meter.Add(n - p.metered)
	p.metered = n
}

type meterWriter struct{ p *partFile }

func (w meterWriter) Write(b []byte) (int, error) {
	w.p.meter.Add(int64(len(b)))
	w.p.metered += int64(len(b))
	return len(b), nil
}

// finish makes the verified .part the output: fsync, modification time from
// the record, rename, fsync of the directory.
func (p *partFile) finish(output string, mtime int64) error {
	err := p.f.Sync()
	if err == nil {
		t := time.Unix(mtime, 0)
		err = os.Chtimes(p.name, t, t)
	}
	if err == nil {
		err = safefile.Rename(p.name, output)
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", output, err)
	}
	return nil
}

// abandon closes the .part after a failure, removing it unless it holds
// bytes a next run can resume from.
func (p *partFile) abandon() {
	fi, err := p.f.Stat()
	if err == nil && fi.Size() == 0 {
		os.Remove(p.name)
	}
	p.f.Close()
}
