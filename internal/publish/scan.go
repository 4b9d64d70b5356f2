package publish

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

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
// every file and symlink. It refuses, naming it, any path the journal could
// not carry, any symlink that leads outside the tree and any special file.
func scan(root string) ([]scanned, error) {
	var out []scanned
	err := filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, name)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		p := filepath.ToSlash(rel)
		if p == journal.MetaDir {
			return fs.SkipDir
		}
		if d.IsDir() {
			return checkDirPath(p)
		}
		if err := journal.CheckPath(p); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode().IsRegular():
			out = append(out, scanned{path: p, kind: journal.File, stat: statOf(fi)})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(name)
			if err != nil {
				return err
			}
			if err := journal.CheckTarget(p, target); err != nil {
				return err
			}
			out = append(out, scanned{path: p, kind: journal.Symlink, stat: statOf(fi), target: target})
		default:
			return fmt.Errorf("path %q: %v is neither a file, a directory nor a symlink", p, fi.Mode().Type())
		}
		return nil
	})
	return out, err
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
		s.CTime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return s
}
