package serve

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// direct are the openat2(2) rules of openDirect: stay beneath the root and
// follow no symlink at all, so the file opened is the one name spells.
const direct = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openDirect opens the regular file at name in the tree whose root
// directory is dir without resolving it step by step: one openat2 with
// O_PATH (which opens nothing) to see that it is a regular file, then one
// that opens it, checked to be the same file. It returns the file and what
// its fstat said, or reports false for anything else (a symlink on the way,
// a directory, a special file, a missing file, a kernel without openat2),
// which the caller then resolves step by step.
func openDirect(dir *os.File, name string) (*os.File, fs.FileInfo, bool) {
	if dir == nil {
		return nil, nil, false
	}
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: direct}
	first, err := unix.Openat2(int(dir.Fd()), name, how)
	if err != nil {
		return nil, nil, false
	}
	var st unix.Stat_t
	err = unix.Fstat(first, &st)
	unix.Close(first)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, nil, false
	}
	how.Flags = unix.O_RDONLY | unix.O_CLOEXEC
	fd, err := unix.Openat2(int(dir.Fd()), name, how)
	if err != nil {
		return nil, nil, false
	}
	f := os.NewFile(uintptr(fd), name)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !sameFile(fi, &st) {
		f.Close()
		return nil, nil, false
	}
	return f, fi, true
}

// sameFile reports whether fi describes the file st does.
func sameFile(fi fs.FileInfo, st *unix.Stat_t) bool {
	got, ok := fi.Sys().(*syscall.Stat_t)
	return ok && got.Ino == st.Ino && uint64(got.Dev) == uint64(st.Dev)
}
