package publish

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pando-mirror/pando/internal/journal"
)

// A scanned entry is what the tree holds at a path right now.
type scanned struct {
	path   string
	kind   journal.Kind // File or Symlink
	stat   fileStat
	target string // Symlink
}

// fileStat is what the stat cache compares to decide a file is unchanged.
type fileStat struct {
	Size   int64
	MTime  int64 // nanoseconds
	CTime  int64 // nanoseconds
	Inode  uint64
	SHA256 [32]byte // filled in by hashing or from the cache
}

// scan walks the tree at root, skipping the metadata directory, and returns
// every file and symlink, in no particular order. It refuses, naming it,
// any path the journal could not carry, any symlink that leads outside the
// tree and any special file.
//
// Each directory is read through its own descriptor and each name in it is
// looked at relative to that (fstatat), so no path is resolved from the
// root again; directories are read on several goroutines at once, since a
// no-change publish is little else than this walk.
func scan(root string) ([]scanned, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	s := &scanner{root: root, tokens: make(chan struct{}, scanWorkers-1)}
	s.dir(fd, "")
	s.wg.Wait()
	return s.out, s.err
}

// scanWorkers is how many directories are read at once, at most.
const scanWorkers = 4

type scanner struct {
	root   string
	tokens chan struct{} // one per goroutine beyond the first
	wg     sync.WaitGroup

	mu  sync.Mutex
	out []scanned
	err error // the first failure
}

func (s *scanner) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *scanner) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// dir scans the directory open as fd, at slash path rel ("" for the root),
// and closes fd. Subdirectories go to another goroutine when one is free.
func (s *scanner) dir(fd int, rel string) {
	f := os.NewFile(uintptr(fd), filepath.Join(s.root, filepath.FromSlash(rel)))
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		s.fail(err)
		return
	}
	var out []scanned
	defer func() {
		s.mu.Lock()
		s.out = append(s.out, out...)
		s.mu.Unlock()
	}()
	for _, e := range entries {
		if s.failed() {
			return
		}
		p := e.Name()
		if rel != "" {
			p = rel + "/" + p
		}
		if p == journal.MetaDir {
			continue
		}
		if e.IsDir() {
			if err := checkDirPath(p); err != nil {
				s.fail(err)
				return
			}
			sub, err := unix.Openat(fd, e.Name(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				s.fail(&fs.PathError{Op: "open", Path: filepath.Join(s.root, filepath.FromSlash(p)), Err: err})
				return
			}
			select {
			case s.tokens <- struct{}{}:
				s.wg.Go(func() {
					defer func() { <-s.tokens }()
					s.dir(sub, p)
				})
			default:
				s.dir(sub, p)
			}
			continue
		}
		if err := journal.CheckPath(p); err != nil {
			s.fail(err)
			return
		}
		sc, err := s.entry(fd, e.Name(), p)
		if err != nil {
			s.fail(err)
			return
		}
		out = append(out, sc)
	}
}

// entry describes the file or symlink name in the directory fd, at path p.
func (s *scanner) entry(fd int, name, p string) (scanned, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return scanned{}, &fs.PathError{Op: "lstat", Path: filepath.Join(s.root, filepath.FromSlash(p)), Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return scanned{path: p, kind: journal.File, stat: statOfUnix(&st)}, nil
	case unix.S_IFLNK:
		buf := make([]byte, st.Size+1)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return scanned{}, &fs.PathError{Op: "readlink", Path: filepath.Join(s.root, filepath.FromSlash(p)), Err: err}
		}
		if n > int(st.Size) {
			return scanned{}, fmt.Errorf("path %q: symlink changed while it was being read; run again", p)
		}
		target := string(buf[:n])
		if err := journal.CheckTarget(p, target); err != nil {
			return scanned{}, err
		}
		return scanned{path: p, kind: journal.Symlink, stat: statOfUnix(&st), target: target}, nil
	default:
		mode := fs.FileMode(0)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFIFO:
			mode = fs.ModeNamedPipe
		case unix.S_IFSOCK:
			mode = fs.ModeSocket
		case unix.S_IFCHR:
			mode = fs.ModeDevice | fs.ModeCharDevice
		case unix.S_IFBLK:
			mode = fs.ModeDevice
		}
		return scanned{}, fmt.Errorf("path %q: %v is neither a file, a directory nor a symlink", p, mode.Type())
	}
}

func statOfUnix(st *unix.Stat_t) fileStat {
	return fileStat{Size: st.Size, MTime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, Inode: st.Ino, CTime: st.Ctim.Sec*1e9 + st.Ctim.Nsec}
}

// checkDirPath refuses a directory whose name no path below it could carry,
// so the error names the directory rather than its first file.
func checkDirPath(p string) error {
	return journal.CheckPath(p)
}

func statOf(fi fs.FileInfo) fileStat {
	s := fileStat{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Inode = st.Ino
		s.CTime = ctime(st)
	}
	return s
}
