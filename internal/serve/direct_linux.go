package serve

import (
	"os"

	"golang.org/x/sys/unix"
)

// direct are the openat2(2) rules of openDirect: stay beneath the root and
// follow no symlink at all, so the file opened is the one name spells.
const direct = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openDirect opens the regular file at name in the tree whose root
// directory is dir without resolving it step by step: one openat2 with
// O_PATH (which opens nothing) to see that it is a regular file, then one
// that opens it, checked to be the same file. It reports false for anything
// else (a symlink on the way, a directory, a special file, a missing file,
// a kernel without openat2), which the caller then resolves step by step.
func openDirect(dir *os.File, name string) (*os.File, bool) {
	if dir == nil {
		return nil, false
	}
	first, ok := openRegular(dir, name, unix.O_PATH, nil)
	if !ok {
		return nil, false
	}
	defer unix.Close(first.fd)
	f, ok := openRegular(dir, name, unix.O_RDONLY, &first.st)
	if !ok {
		return nil, false
	}
	return os.NewFile(uintptr(f.fd), name), true
}

type openedFile struct {
	fd int
	st unix.Stat_t
}

// openRegular opens name with flags under the direct rules and keeps it if
// it is a regular file (and, with same, the file same describes).
func openRegular(dir *os.File, name string, flags int, same *unix.Stat_t) (openedFile, bool) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: direct}
	fd, err := unix.Openat2(int(dir.Fd()), name, how)
	if err != nil {
		return openedFile{}, false
	}
	o := openedFile{fd: fd}
	if unix.Fstat(fd, &o.st) != nil || o.st.Mode&unix.S_IFMT != unix.S_IFREG ||
		(same != nil && (o.st.Ino != same.Ino || o.st.Dev != same.Dev)) {
		unix.Close(fd)
		return openedFile{}, false
	}
	return o, true
}
