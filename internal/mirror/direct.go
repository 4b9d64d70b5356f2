package mirror

// Direct placement: a large sync puts a file at a path the tree's current
// state does not have straight into its directory, instead of staging it
// and renaming it there at the end. Nothing of the state the tree serves
// changes by it (the path was free), so it needs no swap; what it needs is
// that the name never appears before the bytes are durable, and that a
// verifier and the next run know what the file is. So:
//
//   - the intent (logdir.Pending), naming every path the run installs with
//     its size and hash, is durable before the first file is named;
//   - each file is written, verified, given its mode and time while it is
//     still an unnamed O_TMPFILE in its directory;
//   - a linker takes the verified files in batches, makes their bytes
//     durable with one syncfs(2), and only then links each to its name.
//
// A file that cannot be placed so (its directory is in the way of an old
// file, or something holds its name) is linked into staging instead and
// installed at the end as any other. The syncfs of each batch also writes
// back the staged files made meanwhile, so the last one, before the
// checkpoint, has little left to do.

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/safefile"
)

// Bounds of the linker. Each file waiting holds a descriptor, so the
// backlog and the batch together stay within a third of the process's
// limit; within that, large batches keep the syncfs calls few (each one is a
// journal commit and a cache flush) and the backlog keeps the fetches going
// while one runs.
const (
	linkBatch   = 2048                   // files made durable by one syncfs, at most
	linkWait    = 200 * time.Millisecond // longest a verified file waits for a batch to fill
	linkBacklog = 4096                   // verified files waiting for the linker, at most
)

// linkBounds returns the backlog and batch sizes the descriptor limit allows.
func linkBounds() (backlog, batch int) {
	backlog, batch = linkBacklog, linkBatch
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && uint64(lim.Cur) < uint64(3*(backlog+batch)) {
		third := int(uint64(lim.Cur) / 3) // int64 on some systems
		backlog, batch = max(third*2/3, 8), max(third/3, 4)
	}
	return backlog, batch
}

// markDirect marks the blobs of p that may be placed directly: contents
// needed at one path, small enough to be fetched whole into memory, at a
// path have does not hold. A path an interrupted run was installing
// (suspect) may already hold the bytes; the fetch looks first. It marks
// none when there are fewer than batchSync, where staging them all costs
// less than the linker's batches, and reports whether it marked any.
func (p *plan) markDirect(have *journal.State, suspect map[string]bool) bool {
	// The install of each blob used once (the only ones that can be placed).
	installs := make(map[[32]byte]journal.Record, len(p.blobs))
	for _, r := range p.install {
		if r.Kind == journal.File {
			installs[r.SHA256] = r
		}
	}
	var eligible []int
	for i, b := range p.blobs {
		if b.uses != 1 || b.size > smallBlob || b.local != "" {
			continue
		}
		at := installs[b.sha].Path
		if _, had := have.Lookup(at); had || have.IsDir(at) {
			continue
		}
		eligible = append(eligible, i)
	}
	if syncEachBelow(len(eligible)) {
		return false
	}
	for _, i := range eligible {
		b := &p.blobs[i]
		r := installs[b.sha]
		b.direct, b.mtime, b.inPlace = r.Path, r.MTime, suspect[r.Path]
	}
	return true
}

// withoutPlaced returns p without the installs that were placed directly.
func (p plan) withoutPlaced(placed map[string]bool) plan {
	if len(placed) == 0 {
		return p
	}
	out := plan{remove: p.remove}
	for _, r := range p.install {
		if !placed[r.Path] {
			out.install = append(out.install, r)
		}
	}
	for _, b := range p.blobs {
		if !placed[b.direct] {
			out.blobs = append(out.blobs, b)
		}
	}
	return out
}

// A verified file waiting to be linked to its name.
type unlinked struct {
	fd   int
	b    blob
	name string // b's hex name in staging, for the fall-back
}

// A linker links verified files to their names, batch by batch, each batch
// made durable first.
type linker struct {
	fetcher *fetcher
	tree    *os.Root
	batch   int
	queue   chan unlinked
	done    chan struct{} // closed when run returns
	err     error         // why run stopped early, read after done
	placed  []string      // paths linked in place, read after done
}

func newLinker(f *fetcher, tree *os.Root) *linker {
	backlog, batch := linkBounds()
	return &linker{fetcher: f, tree: tree, batch: batch, queue: make(chan unlinked, backlog), done: make(chan struct{})}
}

// add hands the linker a verified file; it takes over fd.
func (l *linker) add(ctx context.Context, u unlinked) error {
	select {
	case l.queue <- u:
		return nil
	case <-l.done:
		unix.Close(u.fd)
		return l.err
	case <-ctx.Done():
		unix.Close(u.fd)
		return ctx.Err()
	}
}

// close tells the linker no more files come and waits for it.
func (l *linker) close() error {
	close(l.queue)
	<-l.done
	return l.err
}

// run links batches until the queue is closed and empty, or a batch fails;
// after a failure it closes what still comes.
func (l *linker) run() {
	defer close(l.done)
	w, err := newDirWalker(l.tree)
	if err != nil {
		l.fail(err)
		return
	}
	w.keep = true
	defer w.close()
	batch := make([]unlinked, 0, l.batch)
	timer := time.NewTimer(linkWait)
	defer timer.Stop()
	for open := true; open; {
		batch = batch[:0]
		u, ok := <-l.queue
		if !ok {
			return
		}
		batch = append(batch, u)
		timer.Reset(linkWait)
	fill:
		for len(batch) < l.batch {
			select {
			case u, ok := <-l.queue:
				if !ok {
					open = false
					break fill
				}
				batch = append(batch, u)
			case <-timer.C:
				break fill
			}
		}
		if err := l.link(w, batch); err != nil {
			l.fail(err)
			return
		}
	}
}

// fail records err and closes every file still queued, so that no fetch
// waits on a linker that stopped.
func (l *linker) fail(err error) {
	l.err = err
	go func() {
		for u := range l.queue {
			unix.Close(u.fd)
		}
	}()
}

// link makes the batch's bytes durable, then names each file.
func (l *linker) link(w *dirWalker, batch []unlinked) error {
	defer func() {
		for _, u := range batch {
			unix.Close(u.fd)
		}
	}()
	if w := l.fetcher.intentWritten; w != nil {
		if err := w(); err != nil {
			return err
		}
	}
	if err := safefile.SyncFS(l.fetcher.staging); err != nil {
		return err
	}
	d := l.fetcher.dir
	for _, u := range batch {
		dir, err := w.open(path.Dir(u.b.direct))
		if err == nil {
			err = d.link(u.fd, dir, path.Base(u.b.direct))
		}
		if err == nil {
			l.placed = append(l.placed, u.b.direct)
			continue
		}
		// Its directory or its name is taken: stage it instead.
		if err := d.name(u.fd, u.name); err != nil {
			return err
		}
	}
	return nil
}

// placeDirect makes an unnamed file in the directory of b's path holding
// data, with its mode and time, and hands it to the linker. It reports
// false, having done nothing, when the file cannot be made there.
func (f *fetcher) placeDirect(ctx context.Context, b blob, data []byte, near *dirWalker) (bool, error) {
	dir := nearDir(near, b.direct)
	if dir < 0 {
		return false, nil
	}
	fd, err := openUnnamed(dir)
	if err != nil {
		return false, nil
	}
	ts := unix.NsecToTimespec(time.Unix(b.mtime, 0).UnixNano())
	if err := writeFD(fd, data); err != nil {
		unix.Close(fd)
		return true, err
	}
	if err := unix.Fchmod(fd, 0o644); err != nil {
		unix.Close(fd)
		return true, &os.PathError{Op: "chmod", Path: b.direct, Err: err}
	}
	if err := setTimes(fd, ts); err != nil {
		unix.Close(fd)
		return true, &os.PathError{Op: "chtimes", Path: b.direct, Err: err}
	}
	return true, f.linker.add(ctx, unlinked{fd: fd, b: b, name: b.hex()})
}

func writeFD(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// holdsInPlace reports whether b's path already holds b's bytes, placed
// there by an interrupted run.
func holdsInPlace(near *dirWalker, b blob) bool {
	dir := nearDir(near, b.direct)
	if dir < 0 {
		return false
	}
	fd, err := unix.Openat(dir, path.Base(b.direct), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	file := os.NewFile(uintptr(fd), b.direct)
	defer file.Close()
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != b.size {
		return false
	}
	h := sha256.New()
	if n, err := io.Copy(h, file); err != nil || n != b.size {
		return false
	}
	return [32]byte(h.Sum(nil)) == b.sha
}
