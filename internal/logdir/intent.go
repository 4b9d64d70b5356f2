package logdir

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/safefile"
)

// Local state files below LocalDir.
const (
	LockPath     = LocalDir + "/lock"
	StagingDir   = LocalDir + "/staging"
	PendingPath  = LocalDir + "/pending"
	DeletesPath  = LocalDir + "/deletes"
	maxLocalFile = 1 << 30
)

// A Pending intent is written by a sync just before it starts replacing files
// in the served tree, and removed once the new checkpoint is in place. While
// it exists, the tree may hold, at each Install path, either the bytes its
// current checkpoint names or the bytes an Install entry for that path names
// (several entries for one path when runs towards different states were
// interrupted in turn); Remove lists paths the new state no longer has.
// Verify and the next sync read it to know what interrupted runs were doing.
type Pending struct {
	Records int64         `json:"records"` // the new checkpoint's record count
	Install []PendingFile `json:"install"`
	Remove  []string      `json:"remove"`
}

// A PendingFile is a path about to hold a file with this size and hash, or a
// symlink to Target.
type PendingFile struct {
	Path   string `json:"path"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Target string `json:"target,omitempty"`
}

// Matches reports whether record r describes what f installs.
func (f PendingFile) Matches(r journal.Record) bool {
	if r.Kind == journal.Symlink {
		return f.Target == r.Target && f.SHA256 == ""
	}
	return f.Target == "" && f.Size == r.Size && f.SHA256 == hex.EncodeToString(r.SHA256[:])
}

// Merge returns p extended by what an earlier, unfinished intent allowed, so
// that the files that run left in place stay accounted for until a run
// completes. A nil earlier intent leaves p as it is.
func (p *Pending) Merge(earlier *Pending) *Pending {
	if earlier == nil {
		return p
	}
	seen := make(map[PendingFile]bool, len(p.Install))
	for _, f := range p.Install {
		seen[f] = true
	}
	for _, f := range earlier.Install {
		if !seen[f] {
			p.Install = append(p.Install, f)
			seen[f] = true
		}
	}
	removed := make(map[string]bool, len(p.Remove))
	for _, r := range p.Remove {
		removed[r] = true
	}
	for _, r := range earlier.Remove {
		if !removed[r] {
			p.Remove = append(p.Remove, r)
			removed[r] = true
		}
	}
	return p
}

// WritePending records the intent durably.
func WritePending(root string, p *Pending) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return safefile.WriteFile(filepath.Join(root, filepath.FromSlash(PendingPath)), data, 0o644)
}

// ReadPending returns the tree's pending intent, or nil if there is none.
func ReadPending(root string) (*Pending, error) {
	name := filepath.Join(root, filepath.FromSlash(PendingPath))
	data, err := readLimited(name, maxLocalFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Pending
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, f := range p.Install {
		if err := journal.CheckPath(f.Path); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, r := range p.Remove {
		if err := journal.CheckPath(r); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return &p, nil
}

// ClearPending removes the pending intent.
func ClearPending(root string) error {
	err := os.Remove(filepath.Join(root, filepath.FromSlash(PendingPath)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// A Deletion is a path the log no longer names, to be removed from the tree
// once Due has passed (mirrors keep removed files a while for downloads in
// flight).
type Deletion struct {
	Due  time.Time
	Path string
}

// ReadDeletes returns the tree's deletion schedule. Lines are
// "<due-unix> <path>" with the path unescaped to the end of the line.
func ReadDeletes(root string) ([]Deletion, error) {
	name := filepath.Join(root, filepath.FromSlash(DeletesPath))
	data, err := readLimited(name, maxLocalFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Deletion
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, journal.MaxLineLen)
	for line := 1; sc.Scan(); line++ {
		due, p, ok := bytes.Cut(sc.Bytes(), []byte{' '})
		t, err := strconv.ParseInt(string(due), 10, 64)
		if !ok || err != nil || journal.CheckPath(string(p)) != nil {
			return nil, fmt.Errorf("%s:%d: malformed deletion", name, line)
		}
		out = append(out, Deletion{Due: time.Unix(t, 0), Path: string(p)})
	}
	return out, sc.Err()
}

// WriteDeletes replaces the tree's deletion schedule.
func WriteDeletes(root string, ds []Deletion) error {
	name := filepath.Join(root, filepath.FromSlash(DeletesPath))
	if len(ds) == 0 {
		err := os.Remove(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return safefile.Write(name, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for _, d := range ds {
			fmt.Fprintf(bw, "%d %s\n", d.Due.Unix(), d.Path)
		}
		return bw.Flush()
	})
}
