package mirror

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// A dirWalker opens directories of a tree one name at a time, each relative
// to its parent and with O_NOFOLLOW, so that no symlink is ever followed on
// the way: a path in the tree can only lead to a directory of the tree. It
// keeps the directories of the last path open, since installs come in path
// order and neighbours share their parents.
type dirWalker struct {
	root  *os.File
	names []string // segments of the open directories, from the root
	fds   []int    // fds[i] is the directory names[:i+1]
	// keep leaves a file or symlink in a directory's way alone: open then
	// fails with errInTheWay. A fetch, which must not touch what the tree
	// serves, walks so; an install replaces them.
	keep bool
}

// errInTheWay means a file or symlink holds the place of a directory a
// walker that keeps them was asked to open.
var errInTheWay = errors.New("a file or symlink is in the way")

func newDirWalker(root *os.Root) (*dirWalker, error) {
	f, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	return &dirWalker{root: f}, nil
}

// open returns a descriptor of the tree's directory dir ("." for the root),
// valid until the next call. It creates missing directories and removes a
// file or symlink in the way (unless the walker keeps them), which belongs
// to the tree's old state (the new state has paths below it, so it cannot
// be a file there).
func (w *dirWalker) open(dir string) (int, error) {
	var segs []string
	if dir != "." {
		segs = strings.Split(dir, "/")
	}
	keep := 0
	for keep < len(segs) && keep < len(w.names) && segs[keep] == w.names[keep] {
		keep++
	}
	w.closeFrom(keep)
	for _, s := range segs[keep:] {
		fd, err := openDirAt(w.fd(), s, w.keep)
		if err != nil {
			return -1, fmt.Errorf("directory %s: %w", dir, err)
		}
		w.names, w.fds = append(w.names, s), append(w.fds, fd)
	}
	return w.fd(), nil
}

// fd returns the descriptor of the deepest open directory.
func (w *dirWalker) fd() int {
	if len(w.fds) == 0 {
		return int(w.root.Fd())
	}
	return w.fds[len(w.fds)-1]
}

func (w *dirWalker) closeFrom(i int) {
	for _, fd := range w.fds[i:] {
		unix.Close(fd)
	}
	w.names, w.fds = w.names[:i], w.fds[:i]
}

func (w *dirWalker) close() {
	w.closeFrom(0)
	w.root.Close()
}

// openDirAt opens the directory name in parent, making it if it is missing
// and replacing a file or symlink that holds its place, unless keep.
func openDirAt(parent int, name string, keep bool) (int, error) {
	var err error
	for range 3 { // at most: unlink what is in the way, make, open
		var fd int
		fd, err = unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.ENOENT):
			if err = unix.Mkdirat(parent, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return -1, err
			}
		case (errors.Is(err, unix.ENOTDIR) || errors.Is(err, errSymlink)) && keep:
			return -1, errInTheWay
		case errors.Is(err, unix.ENOTDIR), errors.Is(err, errSymlink):
			if err = unix.Unlinkat(parent, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				return -1, err
			}
		default:
			return -1, err
		}
	}
	return -1, err
}
