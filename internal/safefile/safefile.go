// Package safefile owns the crash-safe ways pando changes a local file
// system: whole-file writes that are either fully there or not at all
// (temporary name, fsync, rename, fsync of the directory; for caches that
// are checked when read, the same without the syncs), and the advisory
// lock that keeps two writers out of one tree.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes data to name so that a crash at any point leaves either
// the old file or the new one, never a mix: it writes a temporary file in the
// same directory, syncs it, renames it over name and syncs the directory.
// Missing parent directories are created.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	return Write(name, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write is WriteFile with the contents produced by fill.
func Write(name string, perm os.FileMode, fill func(io.Writer) error) error {
	return write(name, perm, true, fill)
}

// WriteFileUnsynced is WriteFile without any fsync: readers see the old file
// or the new one, never a mix, but after a crash the file may hold either, or
// (on a file system that does not order data before renames) be empty or
// damaged. It is only for caches that are checked whenever they are read.
func WriteFileUnsynced(name string, data []byte, perm os.FileMode) error {
	return writeTemp(name, perm, false, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func write(name string, perm os.FileMode, syncDir bool, fill func(io.Writer) error) error {
	return writeTemp(name, perm, true, syncDir, fill)
}

func writeTemp(name string, perm os.FileMode, syncFile, syncDir bool, fill func(io.Writer) error) error {
	st, err := stage(name, perm, syncFile, fill)
	if err != nil {
		return err
	}
	if err := os.Rename(st.tmp, name); err != nil {
		st.Discard()
		return err
	}
	if !syncDir {
		return nil
	}
	return SyncDir(filepath.Dir(name))
}

// A Staged file is the new contents of a file, written under a temporary
// name in its directory and not yet synced, waiting to replace the file.
// A caller that makes a whole file system durable at once (SyncFS) stages
// the file before that and replaces it after, and so pays no fsync of its
// own for the bytes.
type Staged struct {
	tmp, name string
}

// Stage writes data to a temporary file beside name, without syncing it.
func Stage(name string, data []byte, perm os.FileMode) (*Staged, error) {
	return stage(name, perm, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// stage writes what fill produces to a temporary file beside name, with
// sync fsyncing it; on any error the temporary file is gone.
func stage(name string, perm os.FileMode, sync bool, fill func(io.Writer) error) (_ *Staged, err error) {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := fill(f); err != nil {
		return nil, fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		return nil, err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &Staged{tmp: f.Name(), name: name}, nil
}

// Replace renames the staged file over its name and syncs the directory.
// The caller has made the staged bytes durable.
func (s *Staged) Replace() error {
	if err := os.Rename(s.tmp, s.name); err != nil {
		s.Discard()
		return err
	}
	return SyncDir(filepath.Dir(s.name))
}

// Discard removes a staged file that will not replace its name.
func (s *Staged) Discard() { os.Remove(s.tmp) }

// Rename moves oldname to newname and syncs newname's directory (and
// oldname's, when it differs), so the move survives a power loss.
func Rename(oldname, newname string) error {
	if err := os.MkdirAll(filepath.Dir(newname), 0o755); err != nil {
		return err
	}
	if err := os.Rename(oldname, newname); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(newname)); err != nil {
		return err
	}
	if d := filepath.Dir(oldname); d != filepath.Dir(newname) {
		return SyncDir(d)
	}
	return nil
}

// SyncDir fsyncs a directory so that renames and creations in it are durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// WriteFileNoDirSync is WriteFile without the fsync of the directory: the
// file's bytes are durable when it returns, its name once the caller has
// called SyncDir on the directory. Writers of many files in few
// directories pay one directory sync each instead of one per file.
func WriteFileNoDirSync(name string, data []byte, perm os.FileMode) error {
	return write(name, perm, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncFS makes every write to the file system holding path durable with one
// syncfs(2). A writer of thousands of files calls it once instead of
// fsyncing each; it also waits for other programs' writes to that file
// system, so it pays off only for large batches. Only Linux has it
// (CanSyncFS); elsewhere it fails, and writers sync file by file.
func SyncFS(path string) error {
	if !CanSyncFS {
		return fmt.Errorf("syncfs %s: %w", path, errors.ErrUnsupported)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syncfs(f); err != nil {
		return fmt.Errorf("syncfs %s: %w", path, err)
	}
	return nil
}
