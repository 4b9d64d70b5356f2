// Package publish owns the origin's side of the signed log: it scans a tree,
// appends a journal record for every change since the last publish, and
// re-signs the checkpoint with a fresh time, even when nothing changed, so
// that mirrors and checkers can tell a live origin from a frozen one.
package publish

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/safefile"
)

// Options configure one publish run.
type Options struct {
	Root     string        // the tree to publish
	Signer   note.Signer   // the origin's key; its name is the origin
	Verifier note.Verifier // the signer's public half, to check the existing log
	Wait     bool          // wait for another publisher's lock instead of failing
	Now      func() time.Time
	Meter    *progress.Meter // bytes hashed; may be nil
	Log      *slog.Logger
}

// Result summarizes a publish run.
type Result struct {
	Before, After int64 // records before and after
	Added         int   // paths that were not live
	Changed       int   // live paths whose record changed
	Removed       int   // paths that are gone
	Hashed        int   // files whose contents were read
	HashedBytes   int64
	Checkpoint    checkpoint.Checkpoint
}

// Publish brings the signed log of opts.Root up to date with the tree and
// signs a new checkpoint. A crash at any point leaves the previous checkpoint
// in force; a second publisher is kept out by a lock.
func Publish(ctx context.Context, opts Options) (Result, error) {
	var res Result
	if opts.Now == nil {
		opts.Now = time.Now
	}
	lockName := filepath.Join(opts.Root, filepath.FromSlash(logdir.LocalDir), "lock")
	var lk *safefile.Lock
	var err error
	if opts.Wait {
		lk, err = safefile.WaitLock(ctx, lockName, "pando publish")
	} else {
		lk, err = safefile.TryLock(lockName, "pando publish")
	}
	if err != nil {
		return res, err
	}
	defer lk.Unlock()

	// The walk of the tree needs nothing of the log or the stat cache:
	// it runs while they load.
	var files []scanned
	var scanErr error
	walked := make(chan struct{})
	go func() {
		defer close(walked)
		files, scanErr = scan(opts.Root)
	}()
	old, err := logdir.Load(opts.Root, opts.Verifier)
	if errors.Is(err, logdir.ErrNoLog) {
		old, err = logdir.Empty(opts.Signer.Name()), nil
	}
	cacheName := filepath.Join(opts.Root, filepath.FromSlash(logdir.LocalDir), "statcache")
	var cache *statCache
	if err == nil {
		var cerr error
		if cache, cerr = loadStatCache(cacheName); cerr != nil && opts.Log != nil {
			opts.Log.Warn("ignoring damaged stat cache", "err", cerr)
		}
	}
	<-walked
	if err != nil {
		return res, err
	}
	res.Before = old.N()
	if scanErr != nil {
		return res, scanErr
	}
	cacheTime := opts.Now().UnixNano()
	if err := hashFiles(ctx, opts, files, cache, &res); err != nil {
		return res, err
	}

	now := opts.Now().Unix()
	lines, err := diff(old.State, files, now, &res)
	if err != nil {
		return res, err
	}
	next, _, err := old.Extend(lines)
	if err != nil {
		return res, fmt.Errorf("new records: %w", err)
	}
	next.Checkpoint.Time = time.Unix(now, 0).UTC()
	signed, err := checkpoint.Sign(next.Checkpoint, opts.Signer)
	if err != nil {
		return res, err
	}
	if err := logdir.Commit(opts.Root, old, next, signed); err != nil {
		return res, err
	}
	if err := saveStatCache(cacheName, cacheTime, files); err != nil && opts.Log != nil {
		opts.Log.Warn("could not save stat cache", "err", err)
	}
	res.After, res.Checkpoint = next.N(), next.Checkpoint
	return res, nil
}

// hashFiles fills in the SHA-256 of every scanned file, from the stat cache
// when its stat is unchanged and by reading it otherwise, on all cores.
func hashFiles(ctx context.Context, opts Options, files []scanned, cache *statCache, res *Result) error {
	var todo []int
	var total int64
	for i := range files {
		f := &files[i]
		if f.kind != journal.File {
			continue
		}
		if h, ok := cache.lookup(f.path, f.stat); ok {
			f.stat.SHA256 = h
			continue
		}
		todo = append(todo, i)
		total += f.stat.Size
	}
	opts.Meter.SetTotal(total)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, i := range todo {
		f := &files[i]
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return hashFile(opts.Root, f, opts.Meter)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	res.Hashed = len(todo)
	res.HashedBytes = total
	return nil
}

// hashFile reads one file and refuses it if it changed while being read.
func hashFile(root string, f *scanned, m *progress.Meter) error {
	name := filepath.Join(root, filepath.FromSlash(f.path))
	fd, err := os.Open(name)
	if err != nil {
		return err
	}
	defer fd.Close()
	h := sha256.New()
	n, err := io.Copy(h, &meterReader{fd, m})
	if err != nil {
		return fmt.Errorf("path %q: %w", f.path, err)
	}
	fi, err := fd.Stat()
	if err != nil {
		return err
	}
	if after := statOf(fi); n != f.stat.Size || after.Size != f.stat.Size || after.MTime != f.stat.MTime {
		return fmt.Errorf("path %q: changed while it was being published; run again", f.path)
	}
	h.Sum(f.stat.SHA256[:0])
	m.Item()
	return nil
}

type meterReader struct {
	r io.Reader
	m *progress.Meter
}

func (r *meterReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.m.Add(int64(n))
	return n, err
}

// diff returns the record lines that turn the live state into the scanned
// tree: removals first (so a file may become a directory), then additions
// and changes in path order.
func diff(state *journal.State, files []scanned, now int64, res *Result) ([][]byte, error) {
	slices.SortFunc(files, func(a, b scanned) int { return strings.Compare(a.path, b.path) })
	var changes [][]byte
	live := 0 // scanned paths the state has: when all of them, nothing was removed
	for _, f := range files {
		r := journal.Record{Kind: f.kind, Time: now, Path: f.path, MTime: f.stat.MTime / 1e9}
		if f.kind == journal.File {
			r.Size, r.SHA256 = f.stat.Size, f.stat.SHA256
		} else {
			r.Target = f.target
		}
		old, had := state.Lookup(f.path)
		if had {
			live++
			if sameContent(old.Record, r) {
				continue
			}
		}
		line, err := journal.AppendLine(nil, &r)
		if err != nil {
			return nil, err
		}
		changes = append(changes, line[:len(line)-1])
		if had {
			res.Changed++
		} else {
			res.Added++
		}
	}
	if live == state.Len() {
		return changes, nil
	}
	var gone []string
	for e := range state.Entries() {
		if _, ok := slices.BinarySearchFunc(files, e.Path, func(f scanned, p string) int { return strings.Compare(f.path, p) }); !ok {
			gone = append(gone, e.Path)
		}
	}
	slices.Sort(gone)
	lines := make([][]byte, 0, len(gone)+len(changes))
	for _, p := range gone {
		line, err := journal.AppendLine(nil, &journal.Record{Kind: journal.Remove, Time: now, Path: p})
		if err != nil {
			return nil, err
		}
		lines = append(lines, line[:len(line)-1])
		res.Removed++
	}
	return append(lines, changes...), nil
}

// sameContent reports whether two records describe the same file or link,
// ignoring when they were published.
func sameContent(a, b journal.Record) bool {
	a.Time, b.Time = 0, 0
	return a == b
}
