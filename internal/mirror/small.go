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
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// smallBlob is the largest blob fetched into memory and staged whole once
// verified, rather than through a partial file a later run could resume:
// most files of a repository are small, and for them a resume saves little
// and the partial file costs a rename.
const smallBlob = 256 << 10

var smallPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fetchSmall fetches b from loc into memory, checks its size and hash, and
// only then stages it as final.
func (f *fetcher) fetchSmall(ctx context.Context, b blob, final string, loc location) (n int64, err error) {
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
	return n, writeWhole(final, buf.Bytes(), f.syncEach)
}

// writeWhole makes name hold data, so that name never exists with less: the
// bytes go to an unnamed file in name's directory (O_TMPFILE), which is then
// linked to name. Where the file system or /proc does not allow that, they
// go to name+".part", renamed to name. With sync the bytes are durable
// before the name appears.
func writeWhole(name string, data []byte, sync bool) error {
	fd, err := unix.Open(filepath.Dir(name), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return writeViaPart(name, data, sync)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if err := writeAll(f, data, sync); err != nil {
		return err
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	for range 2 { // a file left under the name (of the wrong size) is replaced once
		err = unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
		if err := os.Remove(name); err != nil {
			return err
		}
	}
	if errors.Is(err, unix.ENOENT) { // no /proc
		return writeViaPart(name, data, sync)
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: proc, New: name, Err: err}
	}
	return nil
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
