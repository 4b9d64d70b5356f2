package mirror

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/safefile"
)

// installer puts staged blobs and symlinks in place inside the tree. It
// reaches every directory of the tree one name at a time from the tree's
// root, never following a symlink (see dirWalker), so no path, and no
// symlink an upstream published, can make it write outside the tree.
type installer struct {
	root    *os.Root
	rootDir string
	staging string // slash path of the staging area, relative to the root
	// linkTimes gives each symlink its record's modification time, so that
	// a publish on the tree sees it unchanged (restore sets it).
	linkTimes bool
	// commitSyncFS leaves the moves to the syncfs of the caller's
	// logdir.CommitSyncFS, which comes before the checkpoint.
	commitSyncFS bool

	stagingDir *os.File // open during install
	mu         sync.Mutex
	uses       map[[32]byte]int             // install paths still to come per blob
	copies     map[[32]byte]*sync.WaitGroup // copies of each blob being made
	links      atomic.Int64                 // symlinks made, for their staging names
}

// testHookCopy, if set, runs before a copy of a blob is made (tests widen
// the window between claiming a copy and making it).
var testHookCopy func()

// installWorkers is how many runs of consecutive installs go on at once,
// so that a rename waiting for the disk (to free the blocks of the file it
// replaces) does not hold up the others.
const installWorkers = 8

// install puts every record of p in place. The records are cut into a few
// runs of consecutive paths, installed side by side, each in path order.
// Records of one state never get in each other's way (no path of a state
// lies below another), so the runs need no order between them.
func (in *installer) install(p plan) error {
	in.uses = make(map[[32]byte]int)
	in.copies = make(map[[32]byte]*sync.WaitGroup)
	for _, b := range p.blobs {
		in.uses[b.sha] = b.uses
		in.copies[b.sha] = new(sync.WaitGroup)
	}
	var err error
	if in.stagingDir, err = in.root.Open(in.staging); err != nil {
		return err
	}
	defer in.stagingDir.Close()
	var g errgroup.Group
	var failed atomic.Bool
	n := len(p.install)
	for k := range installWorkers {
		run := p.install[k*n/installWorkers : (k+1)*n/installWorkers]
		g.Go(func() error {
			err := in.installRun(run, &failed)
			if err != nil {
				failed.Store(true)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return in.durable(p)
}

// installRun installs records in order, until one fails or another run has.
func (in *installer) installRun(records []journal.Record, failed *atomic.Bool) error {
	w, err := newDirWalker(in.root)
	if err != nil {
		return err
	}
	defer w.close()
	for _, r := range records {
		if failed.Load() {
			return nil
		}
		if err := in.installOne(w, r); err != nil {
			return fmt.Errorf("install %s: %w", r.Path, err)
		}
	}
	return nil
}

// durable makes every rename of p durable, before the checkpoint that
// covers them is written.
func (in *installer) durable(p plan) error {
	if in.commitSyncFS {
		return nil
	}
	if in.syncsFS(p) {
		return safefile.SyncFS(in.rootDir)
	}
	// Each directory a file was moved into, and each above it: an install
	// may have made them, and a new directory's name is durable only once
	// its parent is synced.
	dirs := map[string]bool{in.staging: true}
	for _, r := range p.install {
		for d := path.Dir(r.Path); !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			if d == "." {
				break
			}
		}
	}
	for d := range dirs {
		if err := safefile.SyncDir(filepath.Join(in.rootDir, filepath.FromSlash(d))); err != nil {
			return err
		}
	}
	return nil
}

// syncsFS reports whether p's moves are made durable by a syncfs of the
// whole file system rather than by an fsync of each directory.
func (in *installer) syncsFS(p plan) bool { return !syncEachBelow(len(p.install)) }

// installOne prepares r's file or link in the staging area and renames it
// to r.Path.
func (in *installer) installOne(w *dirWalker, r journal.Record) error {
	var name string
	var err error
	if r.Kind == journal.Symlink {
		name, err = in.symlink(r)
	} else {
		name, err = in.file(r)
	}
	if err != nil {
		return err
	}
	return in.renameInto(w, name, r.Path)
}

// file readies the staged blob for r (or a copy, when another path still
// needs the same bytes) with r's mode and time, and returns its name in
// the staging area. Runs install side by side, so the last path to claim
// a blob, which takes the blob itself, first waits for the copies the
// others claimed to be made.
func (in *installer) file(r journal.Record) (string, error) {
	name := hex.EncodeToString(r.SHA256[:])
	in.mu.Lock()
	in.uses[r.SHA256]--
	left := in.uses[r.SHA256]
	copies := in.copies[r.SHA256]
	if left > 0 {
		copies.Add(1)
	}
	in.mu.Unlock()
	if left > 0 {
		if testHookCopy != nil {
			testHookCopy()
		}
		tmp := name + ".copy-" + strconv.Itoa(left)
		err := in.copyFile(name, tmp)
		copies.Done()
		if err != nil {
			return "", err
		}
		name = tmp
	} else if copies != nil {
		copies.Wait()
	}
	sd := int(in.stagingDir.Fd())
	ts := unix.NsecToTimespec(time.Unix(r.MTime, 0).UnixNano())
	if err := unix.Fchmodat(sd, name, 0o644, 0); err != nil {
		return "", &fs.PathError{Op: "chmod", Path: name, Err: err}
	}
	if err := unix.UtimesNanoAt(sd, name, []unix.Timespec{ts, ts}, 0); err != nil {
		return "", &fs.PathError{Op: "chtimes", Path: name, Err: err}
	}
	return name, nil
}

// symlink makes r's link in the staging area and returns its name there.
func (in *installer) symlink(r journal.Record) (string, error) {
	name := "link-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(in.links.Add(1), 10)
	sd := int(in.stagingDir.Fd())
	if err := unix.Symlinkat(r.Target, sd, name); err != nil {
		return "", &fs.PathError{Op: "symlink", Path: name, Err: err}
	}
	if in.linkTimes { // a rename keeps the link's own times
		ts := unix.NsecToTimespec(time.Unix(r.MTime, 0).UnixNano())
		if err := unix.UtimesNanoAt(sd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return "", &fs.PathError{Op: "lutimes", Path: name, Err: err}
		}
	}
	return name, nil
}

// renameInto renames name in the staging area to p in the tree. A
// directory in p's way belongs to the old state (the journal's replay
// guarantees a file and a directory never share a path in one state) and
// is removed.
func (in *installer) renameInto(w *dirWalker, name, p string) error {
	dd, err := w.open(path.Dir(p))
	if err != nil {
		return err
	}
	sd := int(in.stagingDir.Fd())
	err = unix.Renameat(sd, name, dd, path.Base(p))
	if err == unix.EISDIR || err == unix.ENOTEMPTY || err == unix.EEXIST {
		if err := in.root.RemoveAll(p); err != nil {
			return err
		}
		err = unix.Renameat(sd, name, dd, path.Base(p))
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: name, New: p, Err: err}
	}
	return nil
}

// copyFile copies the staged file src to dst, both in the staging area.
func (in *installer) copyFile(src, dst string) error {
	s, err := in.root.Open(in.staging + "/" + src)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := in.root.Create(in.staging + "/" + dst)
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
