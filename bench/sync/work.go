package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// generatorVersion changes whenever planTree or content would produce a
// different tree for the same flags, so a kept tree is not reused wrongly.
const generatorVersion = 1

// A workspace is where one run keeps its trees.
type workspace struct {
	base     string // removed at the end unless -keep
	pristine string // the generated tree, reused with -keep
	stamp    string // describes pristine once it is complete
	run      string // this run's origin, mirrors, keys and binary
	previous string // the previous run's area, removed after this run
	origin   string
	pandoM   string // the mirror pando syncs
	rsyncM   string // the mirror rsync syncs
	key      string // key pair prefix
	temp     bool
}

// newWorkspace lays out a workspace in keep, or in a new temporary directory
// when keep is empty. A previous run's area in keep is moved aside and
// removed only when this run is over: deleting its 150,000 files just before
// the timed steps would leave the file system busy with them (ext4 without
// a journal skips recently freed inodes, rescanning them at every file it
// creates for about a minute), slowing whichever program happens to create
// files in the same block groups.
func newWorkspace(keep string) (*workspace, error) {
	w := &workspace{base: keep}
	if keep == "" {
		dir, err := os.MkdirTemp("", "pando-bench-sync-")
		if err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		w.base, w.temp = dir, true
	}
	w.pristine = filepath.Join(w.base, "pristine")
	w.stamp = filepath.Join(w.base, "pristine.json")
	w.run = filepath.Join(w.base, "run")
	w.origin = filepath.Join(w.run, "origin")
	w.pandoM = filepath.Join(w.run, "mirror-pando")
	w.rsyncM = filepath.Join(w.run, "mirror-rsync")
	w.key = filepath.Join(w.run, "origin-key")
	w.previous = filepath.Join(w.base, "run.previous")
	if err := os.RemoveAll(w.previous); err != nil { // left by an interrupted run
		return nil, fmt.Errorf("workspace: clearing an earlier run: %w", err)
	}
	if err := os.Rename(w.run, w.previous); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("workspace: moving the previous run aside: %w", err)
	}
	if err := os.MkdirAll(w.run, 0o755); err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	return w, nil
}

// close removes a temporary workspace; a kept one stays for inspection,
// without the previous run's area.
func (w *workspace) close() error {
	if !w.temp {
		return os.RemoveAll(w.previous)
	}
	return os.RemoveAll(w.base)
}

// stamp identifies a generated tree.
type stamp struct {
	Generator int     `json:"generator"`
	Files     int     `json:"files"`
	Scale     float64 `json:"scale"`
	Seed      uint64  `json:"seed"`
	Bytes     int64   `json:"bytes"`
}

// ensurePristine generates t into the pristine tree, unless a complete tree
// generated from the same flags is already there.
func ensurePristine(ctx context.Context, w *workspace, t tree, cfg config, lg *progress) error {
	want, err := json.Marshal(stamp{generatorVersion, cfg.files, cfg.scale, cfg.seed, t.Bytes})
	if err != nil {
		return err
	}
	if have, err := os.ReadFile(w.stamp); err == nil && bytes.Equal(have, want) {
		lg.printf("reusing the generated tree in %s", w.pristine)
		return nil
	}
	if err := os.Remove(w.stamp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("workspace: %w", err)
	}
	if err := os.RemoveAll(w.pristine); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	lg.printf("generating %d files, %s, in %s", len(t.Files), human(t.Bytes), w.pristine)
	if err := writeTree(ctx, w.pristine, t, lg); err != nil {
		return err
	}
	if err := os.WriteFile(w.stamp, want, 0o644); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	return nil
}

// linkTree recreates the tree at src under dst with hard links: the origin
// costs no copy, and the change step replaces files rather than editing
// them, so the pristine tree is never touched.
func linkTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, name)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return os.Link(name, target)
		}
		return fmt.Errorf("%s: unexpected file type %v in the generated tree", name, d.Type())
	})
}

// pathSizes lists the regular files under root outside .pando with their
// sizes, keyed by slash-separated relative path.
func pathSizes(root string) (map[string]int64, error) {
	out := make(map[string]int64)
	err := filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".pando" && filepath.Dir(name) == filepath.Clean(root) {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, name)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = fi.Size()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	return out, nil
}
