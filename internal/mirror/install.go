package mirror

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/safefile"
)

// installer puts staged blobs and symlinks in place inside the tree. Every
// change goes through an *os.Root, so no path, and no symlink an upstream
// published, can make it write outside the tree.
type installer struct {
	root    *os.Root
	rootDir string
	staging string // slash path of the staging area, relative to the root
	uses    map[[32]byte]int
	blobAt  func(sha [32]byte) string // slash path of a staged blob, relative to the root
	// linkTimes gives each symlink its record's modification time, so that
	// a publish on the tree sees it unchanged (restore sets it).
	linkTimes bool
}

// install puts every record of p in place, in path order.
func (in *installer) install(p plan) error {
	in.uses = make(map[[32]byte]int)
	for _, b := range p.blobs {
		in.uses[b.sha] = b.uses
	}
	dirs := map[string]bool{in.staging: true}
	for _, r := range p.install {
		dirs[path.Dir(r.Path)] = true
		if err := in.clearWay(r.Path); err != nil {
			return fmt.Errorf("install %s: %w", r.Path, err)
		}
		var err error
		if r.Kind == journal.Symlink {
			err = in.symlink(r)
		} else {
			err = in.file(r)
		}
		if err != nil {
			return fmt.Errorf("install %s: %w", r.Path, err)
		}
	}
	// Every rename durable before the checkpoint that covers it.
	if !syncEachBelow(len(p.install)) {
		return safefile.SyncFS(in.rootDir)
	}
	for d := range dirs {
		if err := safefile.SyncDir(filepath.Join(in.rootDir, filepath.FromSlash(d))); err != nil {
			return err
		}
	}
	return nil
}

// file moves the staged blob for r to r.Path, or copies it when another
// path still needs the same bytes.
func (in *installer) file(r journal.Record) error {
	src := in.blobAt(r.SHA256)
	in.uses[r.SHA256]--
	if in.uses[r.SHA256] > 0 {
		tmp := src + ".copy"
		if err := in.copyFile(src, tmp); err != nil {
			return err
		}
		src = tmp
	}
	// The staged blob is pando's own file: plain calls set its mode and time
	// (each call through the Root walks the path again); only the rename
	// into the published tree needs the Root's protection.
	staged := filepath.Join(in.rootDir, filepath.FromSlash(src))
	mt := time.Unix(r.MTime, 0)
	if err := os.Chmod(staged, 0o644); err != nil {
		return err
	}
	if err := os.Chtimes(staged, mt, mt); err != nil {
		return err
	}
	return in.root.Rename(src, r.Path)
}

func (in *installer) symlink(r journal.Record) error {
	tmp := in.staging + "/link-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := in.root.Symlink(r.Target, tmp); err != nil {
		return err
	}
	if in.linkTimes { // a rename keeps the link's own times
		if err := lutimes(filepath.Join(in.rootDir, filepath.FromSlash(tmp)), time.Unix(r.MTime, 0)); err != nil {
			return err
		}
	}
	return in.root.Rename(tmp, r.Path)
}

func (in *installer) copyFile(src, dst string) error {
	s, err := in.root.Open(src)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := in.root.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(d, s); err != nil {
		d.Close()
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// clearWay makes room for a file at p: every parent must be a directory and
// p itself must not be one. Whatever stands in the way belongs to the old
// state and is not in the new one (the journal's replay guarantees a file and
// a directory never share a path), so it is removed.
func (in *installer) clearWay(p string) error {
	dir := path.Dir(p)
	if dir != "." {
		if err := in.root.MkdirAll(dir, 0o755); err != nil {
			// A parent is a file or symlink: find it and remove it.
			if err := in.removeNonDirParents(dir); err != nil {
				return err
			}
			if err := in.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
	}
	fi, err := in.root.Lstat(p)
	if err == nil && fi.IsDir() {
		return in.root.RemoveAll(p)
	}
	return nil
}

func (in *installer) removeNonDirParents(dir string) error {
	for d := dir; d != "."; d = path.Dir(d) {
		fi, err := in.root.Lstat(d)
		if err == nil && !fi.IsDir() {
			return in.root.Remove(d)
		}
	}
	return nil
}

// removePaths deletes files the log no longer names, then any directories
// they leave empty. A path that is already gone is not an error.
func removePaths(root *os.Root, paths []string) error {
	for _, p := range paths {
		if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fi, serr := root.Lstat(p)
			if serr == nil && fi.IsDir() {
				continue // a directory now: the new state put files below it
			}
			return fmt.Errorf("remove %s: %w", p, err)
		}
		for d := path.Dir(p); d != "." && d != journal.MetaDir; d = path.Dir(d) {
			if root.Remove(d) != nil { // not empty, or gone
				break
			}
		}
	}
	return nil
}

// lutimes sets the access and modification times of the symlink name itself.
func lutimes(name string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "lutimes", Path: name, Err: err}
	}
	return nil
}

// blobInStaging returns where fetcher put a blob, relative to the root.
func blobInStaging(sha [32]byte) string {
	return logdir.StagingDir + "/" + fmt.Sprintf("%x", sha[:])
}
