// Package verify owns checking a local tree against its own signed log:
// every live file present with the size and SHA-256 its record names, every
// symlink pointing where its record says, and nothing else outside .pando.
// While a sync's intent is pending, a path may also hold the bytes the intent
// is installing, and files scheduled for deletion may linger.
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/progress"
)

// A Problem is one way the tree differs from its log.
type Problem struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"` // missing, type, size, hash, target, extra
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
}

func (p Problem) String() string {
	if p.Expected == "" && p.Got == "" {
		return fmt.Sprintf("%s: %s", p.Path, p.Kind)
	}
	return fmt.Sprintf("%s: %s: expected %s, got %s", p.Path, p.Kind, p.Expected, p.Got)
}

// A Report is the outcome of verifying a tree.
type Report struct {
	Checkpoint checkpoint.Checkpoint `json:"-"`
	Records    int64                 `json:"records"`
	Files      int                   `json:"files"`
	Bytes      int64                 `json:"bytes"`
	Problems   []Problem             `json:"problems"`
}

// OK reports whether the tree matched its log.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Tree verifies the tree at root. It returns an error if the log itself
// cannot be read or verified, and a report listing every problem otherwise.
func Tree(ctx context.Context, root string, v note.Verifier, m *progress.Meter) (*Report, error) {
	l, err := logdir.LoadFull(root, v) // the whole journal: no local cache is trusted here
	if err != nil {
		return nil, err
	}
	pending, err := logdir.ReadPending(root)
	if err != nil {
		return nil, err
	}
	deletes, err := logdir.ReadDeletes(root)
	if err != nil {
		return nil, err
	}
	r := &Report{Checkpoint: l.Checkpoint, Records: l.N()}
	alt := make(map[string][]logdir.PendingFile)
	tolerated := make(map[string]bool)
	if pending != nil {
		for _, f := range pending.Install {
			alt[f.Path] = append(alt[f.Path], f)
			tolerated[f.Path] = true
		}
		for _, p := range pending.Remove {
			tolerated[p] = true
		}
	}
	for _, d := range deletes {
		tolerated[d.Path] = true
	}
	tree, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	if err := checkLive(ctx, tree, l.State, alt, r, m); err != nil {
		return nil, err
	}
	if err := findExtra(root, l.State, tolerated, r); err != nil {
		return nil, err
	}
	sort.Slice(r.Problems, func(i, j int) bool { return r.Problems[i].Path < r.Problems[j].Path })
	return r, nil
}

// checkLive checks every live path, hashing files on all cores.
func checkLive(ctx context.Context, tree *os.Root, st *journal.State, alt map[string][]logdir.PendingFile, r *Report, m *progress.Meter) error {
	var mu sync.Mutex
	report := func(p Problem) { mu.Lock(); r.Problems = append(r.Problems, p); mu.Unlock() }
	paths := st.Paths()
	var total int64
	for _, p := range paths {
		e, _ := st.Lookup(p)
		total += e.Size
	}
	m.SetTotal(total)
	r.Files, r.Bytes = len(paths), total
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, p := range paths {
		e, _ := st.Lookup(p)
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			prob, ok := checkOne(tree, e.Record, m)
			for _, a := range alt[p] {
				if ok {
					break
				}
				_, ok = checkOne(tree, pendingRecord(a), m)
			}
			if !ok {
				report(prob)
			}
			m.Item()
			return nil
		})
	}
	return g.Wait()
}

// checkOne compares what the tree holds at r.Path with r.
func checkOne(tree *os.Root, r journal.Record, m *progress.Meter) (Problem, bool) {
	p := Problem{Path: r.Path}
	fi, err := tree.Lstat(r.Path)
	if err != nil {
		p.Kind = "missing"
		return p, false
	}
	if r.Kind == journal.Symlink {
		target, err := tree.Readlink(r.Path)
		if fi.Mode()&fs.ModeSymlink == 0 || err != nil {
			p.Kind, p.Expected, p.Got = "type", "symlink", fi.Mode().Type().String()
			return p, false
		}
		if target != r.Target {
			p.Kind, p.Expected, p.Got = "target", r.Target, target
			return p, false
		}
		return p, true
	}
	if !fi.Mode().IsRegular() {
		p.Kind, p.Expected, p.Got = "type", "file", fi.Mode().Type().String()
		return p, false
	}
	if fi.Size() != r.Size {
		p.Kind, p.Expected, p.Got = "size", fmt.Sprint(r.Size), fmt.Sprint(fi.Size())
		return p, false
	}
	f, err := tree.Open(r.Path)
	if err != nil {
		p.Kind, p.Got = "missing", err.Error()
		return p, false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.TeeReader(f, meterWriter{m})); err != nil {
		p.Kind, p.Got = "hash", err.Error()
		return p, false
	}
	if got := h.Sum(nil); [32]byte(got) != r.SHA256 {
		p.Kind, p.Expected, p.Got = "hash", hex.EncodeToString(r.SHA256[:]), hex.EncodeToString(got)
		return p, false
	}
	return p, true
}

func pendingRecord(f logdir.PendingFile) journal.Record {
	r := journal.Record{Path: f.Path, Size: f.Size, Target: f.Target, Kind: journal.File}
	if f.Target != "" {
		r.Kind = journal.Symlink
	}
	hex.Decode(r.SHA256[:], []byte(f.SHA256))
	return r
}

// findExtra reports files and symlinks the log does not name.
func findExtra(root string, st *journal.State, tolerated map[string]bool, r *Report) error {
	return filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, name)
		p := filepath.ToSlash(rel)
		switch {
		case p == ".":
			return nil
		case p == journal.MetaDir:
			return fs.SkipDir
		case d.IsDir():
			if _, live := st.Lookup(p); live {
				return fs.SkipDir // reported as a type problem already
			}
			return nil
		}
		if _, live := st.Lookup(p); !live && !tolerated[p] {
			r.Problems = append(r.Problems, Problem{Path: p, Kind: "extra"})
		}
		return nil
	})
}

type meterWriter struct{ m *progress.Meter }

func (w meterWriter) Write(p []byte) (int, error) { w.m.Add(int64(len(p))); return len(p), nil }
