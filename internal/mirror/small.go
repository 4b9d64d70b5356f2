package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// smallBlob is the largest blob fetched into memory and staged whole once
// verified, rather than through a partial file a later run could resume:
// most files of a repository are small, and for them a resume saves little
// and the partial file costs a rename.
const smallBlob = 256 << 10

var smallPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fetchSmall fetches b from loc into memory, checks its size and hash, and
// only then stages it as final, in a file made in the directory near walks
// to for b (see stagingDir.writeWhole).
func (f *fetcher) fetchSmall(ctx context.Context, b blob, final string, loc location, near *dirWalker) (n int64, err error) {
	body, _, err := loc.src.Open(ctx, loc.path, 0)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	buf := smallPool.Get().(*bytes.Buffer)
	defer smallPool.Put(buf)
	buf.Reset()
	n, err = buf.ReadFrom(io.LimitReader(f.lim.reader(ctx, body), b.size+1))
	f.meter.Add(n)
	defer func() {
		if err != nil { // the bytes are not done after all
			f.meter.Add(-n)
		}
	}()
	if err != nil {
		return n, fmt.Errorf("%s: %w", loc.path, err)
	}
	if n != b.size {
		return n, &SizeMismatchError{Path: loc.path, Upstream: loc.src.Name(), Want: b.size, Got: n}
	}
	if sum := sha256.Sum256(buf.Bytes()); sum != b.sha {
		return n, &HashMismatchError{Path: loc.path, Upstream: loc.src.Name(), Want: b.hex(), Got: hex.EncodeToString(sum[:])}
	}
	return n, f.keepSmall(ctx, b, buf.Bytes(), near)
}

// keepSmall keeps data, b's verified bytes: placed at its path when b may
// be placed directly, staged whole otherwise.
func (f *fetcher) keepSmall(ctx context.Context, b blob, data []byte, near *dirWalker) error {
	if f.linker != nil && b.direct != "" {
		if placed, err := f.placeDirect(ctx, b, data, near); placed || err != nil {
			return err
		}
	}
	return f.dir.writeWhole(b.hex(), data, f.syncEach, nearDir(near, b.from))
}

// nearDir returns a descriptor of the tree directory that will hold p, or
// -1 when it cannot be had without touching what the tree serves.
func nearDir(near *dirWalker, p string) int {
	if near == nil {
		return -1
	}
	fd, err := near.open(path.Dir(p))
	if err != nil {
		return -1
	}
	return fd
}

// stagingWriters bounds the goroutines writing into the staging directory
// at once. Many fetches may be in flight, but writers of one directory
// serialize on its lock in the kernel, and more of them than cores only
// spin there.
const stagingWriters = 4

// A stagingDir is the open staging directory, into which verified blobs
// are written whole.
type stagingDir struct {
	f           *os.File
	writers     chan struct{} // a token per writer, stagingWriters of them
	noEmptyPath atomic.Bool   // linkat refused AT_EMPTY_PATH: link through /proc
}

func openStaging(dir string) (*stagingDir, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	return &stagingDir{f: f, writers: make(chan struct{}, stagingWriters)}, nil
}

func (d *stagingDir) close() { d.f.Close() }

// writeWhole makes name in d hold data, so that name never exists with
// less: the bytes go to an unnamed file (O_TMPFILE), which is then linked to
// name. Where the file system or the kernel does not allow that, they go to
// name+".part", renamed to name. With sync the bytes are durable before the
// name appears.
//
// The unnamed file is made in the directory near (a descriptor, or -1 for
// d itself), where the file will be installed: a file system places a new
// inode close to its directory's, so files made one after another in a
// single staging directory would all crowd into one place (on ext4, one
// block group, whose allocator then searches ever longer for a free inode),
// while files made in their own directories spread as the tree does. The
// file has no name there, so nothing can serve it.
func (d *stagingDir) writeWhole(name string, data []byte, sync bool, near int) error {
	d.writers <- struct{}{}
	defer func() { <-d.writers }()
	dfd := int(d.f.Fd())
	if near < 0 {
		near = dfd
	}
	fd, err := openUnnamed(near)
	if err != nil && near != dfd {
		fd, err = openUnnamed(dfd)
	}
	if err != nil {
		return writeViaPart(filepath.Join(d.f.Name(), name), data, sync)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if err := writeAll(f, data, sync); err != nil {
		return err
	}
	err = d.name(fd, name)
	if errors.Is(err, unix.ENOENT) { // no /proc
		return writeViaPart(filepath.Join(d.f.Name(), name), data, sync)
	}
	return err
}

// name gives the unnamed file fd the name name in d, replacing once a file
// an earlier run left under it (of the wrong size, or it would not be
// fetched again).
func (d *stagingDir) name(fd int, name string) error {
	dfd := int(d.f.Fd())
	var err error
	for range 2 {
		err = d.link(fd, dfd, name)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
		if err := unix.Unlinkat(dfd, name, 0); err != nil {
			return &os.PathError{Op: "unlink", Path: name, Err: err}
		}
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: "O_TMPFILE", New: name, Err: err}
	}
	return nil
}

// link gives the unnamed file fd the name name in the directory dir: with
// AT_EMPTY_PATH where the kernel allows it, through /proc/self/fd otherwise.
func (d *stagingDir) link(fd, dir int, name string) error {
	if !d.noEmptyPath.Load() {
		err := linkEmptyPath(fd, dir, name)
		if err == nil || errors.Is(err, unix.EEXIST) {
			return err
		}
		d.noEmptyPath.Store(true)
	}
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), dir, name, unix.AT_SYMLINK_FOLLOW)
}

// writeViaPart writes data to name+".part" and renames it to name.
func writeViaPart(name string, data []byte, sync bool) error {
	part := name + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = writeAll(f, data, sync)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(part)
		return err
	}
	return os.Rename(part, name)
}

func writeAll(f *os.File, data []byte, sync bool) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	if sync {
		return f.Sync()
	}
	return nil
}
