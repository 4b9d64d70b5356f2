package mirror

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/safefile"
)

// findHoldings works out, for every stale peer, which blobs the state it
// signed holds and at which path, by replaying the restored journal up to
// its record count.
func (r *restoreRun) findHoldings() error {
	byN := make(map[int64][]*peer)
	var ns []int64
	for _, p := range r.peers {
		if p.rep.State == StateStale {
			if _, ok := byN[p.cp.N]; !ok {
				ns = append(ns, p.cp.N)
			}
			byN[p.cp.N] = append(byN[p.cp.N], p)
		}
	}
	if len(ns) == 0 {
		return nil
	}
	slices.Sort(ns)
	lines, err := journal.Lines(r.next.Journal, 0, r.next.N())
	if err != nil {
		return fmt.Errorf("restored journal: %w", err)
	}
	st := journal.NewState()
	for _, n := range ns {
		if _, err := st.ApplyLines(lines[st.N:n]); err != nil {
			return fmt.Errorf("restored journal: %w", err)
		}
		holds := blobPaths(st)
		for _, p := range byN[n] {
			p.holds = holds
		}
	}
	return nil
}

// blobPaths maps every file content of st to the first path holding it.
func blobPaths(st *journal.State) map[[32]byte]string {
	out := make(map[[32]byte]string)
	for _, p := range st.Paths() {
		e, _ := st.Lookup(p)
		if _, dup := out[e.SHA256]; e.Kind == journal.File && !dup {
			out[e.SHA256] = p
		}
	}
	return out
}

// locate lists where b should be found: every peer at the restored state,
// then every stale peer whose state holds the same bytes, in a rotation that
// starts at the blob's place in the plan so the load spreads across them;
// peers whose journal was refused come last.
func (r *restoreRun) locate(b blob) []location {
	var locs, last []location
	e, _ := r.next.State.Lookup(b.from)
	for _, p := range r.peers {
		switch p.rep.State {
		case StateUsed:
			locs = append(locs, location{p, b.from})
		case StateStale:
			if e != nil && e.Index < p.cp.N {
				locs = append(locs, location{p, b.from}) // unchanged since its state
			} else if q, ok := p.holds[b.sha]; ok {
				locs = append(locs, location{p, q})
			}
		case StateBadJournal:
			last = append(last, location{p, b.from})
		}
	}
	if len(locs) > 0 {
		k := r.order[b.sha] % len(locs)
		locs = append(locs[k:], locs[:k]...)
	}
	return append(locs, last...)
}

// tried records one download attempt's outcome against its peer.
func (r *restoreRun) tried(b blob, loc location, _ int64, err error) {
	p, ok := loc.src.(*peer)
	if !ok {
		return
	}
	if err == nil {
		p.served.Add(1)
		return
	}
	p.failed.Add(1)
	r.opts.Log.Warn("object refused", "mirror", p.rep.Name, "path", loc.path, "err", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures[b.sha] = append(r.failures[b.sha], SourceFailure{Mirror: p.rep.Name, Error: err.Error()})
}

// restoreTree stages and installs every object of the restored state that
// the tree does not hold yet, then commits the log: the two-stage install of
// a sync, with objects from many peers and a partial install when some
// cannot be had.
func (r *restoreRun) restoreTree(ctx context.Context) error {
	root := r.opts.Root
	pending, err := logdir.ReadPending(root)
	if err != nil {
		return err
	}
	if r.next.N() == r.base.N() && pending == nil {
		r.rep.UpToDate, r.rep.Complete, r.rep.Restored = true, true, r.next.State.Len()
		return refreshCheckpoint(root, r.base.Checkpoint, r.next.Checkpoint, r.signed)
	}
	suspect := make(map[string]bool)
	if pending != nil {
		for _, f := range pending.Install {
			suspect[f.Path] = true
		}
	}
	changed, err := changedPaths(r.base, r.next)
	if err != nil {
		return err
	}
	p := makePlan(r.base.State, r.next.State, changed, suspect)
	p.remove = append(p.remove, leftovers(pending, r.base.State, r.next.State)...)
	reuseInPlace(root, &p)
	errs, err := r.stage(ctx, p)
	if err != nil {
		return err
	}
	done := r.split(p, errs)
	if err := r.install(done, pending); err != nil {
		return err
	}
	r.rep.Restored = r.next.State.Len() - len(r.rep.Missing)
	if len(r.rep.Missing) > 0 {
		return fmt.Errorf("%d of %d live paths held by no mirror with the right bytes, no checkpoint written: %w",
			len(r.rep.Missing), r.next.State.Len(), ErrIncomplete)
	}
	return r.commit(p.remove)
}

// reuseInPlace points every blob that the tree may already hold at one of
// its install paths (an earlier, incomplete restore put it there) to that
// path, so staging copies and verifies it instead of downloading it.
func reuseInPlace(root string, p *plan) {
	at := make(map[[32]byte][]string)
	for _, rec := range p.install {
		if rec.Kind == journal.File {
			at[rec.SHA256] = append(at[rec.SHA256], rec.Path)
		}
	}
	for i, b := range p.blobs {
		if b.local != "" {
			continue
		}
		for _, path := range at[b.sha] {
			fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(path)))
			if err == nil && fi.Mode().IsRegular() && fi.Size() == b.size {
				p.blobs[i].local = path
				break
			}
		}
	}
}

// stage fetches every blob of p into the staging area, each from the peers
// that should hold it, and returns each blob's failure by index.
func (r *restoreRun) stage(ctx context.Context, p plan) ([]error, error) {
	staging := filepath.Join(r.opts.Root, filepath.FromSlash(logdir.StagingDir))
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, err
	}
	r.order = make(map[[32]byte]int, len(p.blobs))
	for i, b := range p.blobs {
		r.order[b.sha] = i
	}
	f := &fetcher{root: r.opts.Root, staging: staging, lim: newLimiter(r.opts.BWLimit), meter: r.opts.Meter,
		jobs: r.opts.Jobs, locate: r.locate, tried: r.tried, syncEach: syncEachBelow(len(p.blobs))}
	st, errs, err := f.fetchEach(ctx, p.blobs, true)
	f.warnBatchFails(r.opts.Log)
	r.rep.Fetched, r.rep.Batched, r.rep.Reused, r.rep.Staged, r.rep.Bytes = st.fetched, st.batched, st.reused, st.staged, st.bytes
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return errs, f.durable() // before the intent that names them
}

// split returns the part of p whose blobs were staged (and every symlink),
// and lists the paths of the others in the report.
func (r *restoreRun) split(p plan, errs []error) plan {
	failed := make(map[[32]byte]bool)
	done := plan{remove: p.remove}
	for i, b := range p.blobs {
		if errs[i] != nil {
			failed[b.sha] = true
		} else {
			done.blobs = append(done.blobs, b)
		}
	}
	for _, rec := range p.install {
		if rec.Kind != journal.File || !failed[rec.SHA256] {
			done.install = append(done.install, rec)
			continue
		}
		e, _ := r.next.State.Lookup(rec.Path)
		tried := r.failures[rec.SHA256]
		if tried == nil {
			tried = []SourceFailure{}
		}
		r.rep.Missing = append(r.rep.Missing, MissingObject{
			Path: rec.Path, Record: e.Index, Published: time.Unix(rec.Time, 0).UTC(),
			Size: rec.Size, SHA256: hex.EncodeToString(rec.SHA256[:]), Tried: tried,
		})
	}
	return done
}

// install records the intent, then moves what p holds into place, each file
// and symlink with its record's modification time.
func (r *restoreRun) install(p plan, pending *logdir.Pending) error {
	root, err := os.OpenRoot(r.opts.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := logdir.WritePending(r.opts.Root, pendingOf(p, r.next.N()).Merge(pending)); err != nil {
		return err
	}
	in := &installer{root: root, rootDir: r.opts.Root, staging: logdir.StagingDir, linkTimes: true}
	return in.install(p)
}

// commit writes the restored log (journal, tiles and the signed
// checkpoint), then removes what the tree held that the log does not name.
func (r *restoreRun) commit(remove []string) error {
	root := r.opts.Root
	if err := writePublishTiles(root, r.base, r.next); err != nil {
		return err
	}
	if err := logdir.Commit(root, r.base, r.next, r.signed); err != nil {
		return err
	}
	r.rep.Complete = true
	fsRoot, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer fsRoot.Close()
	if err := removePaths(fsRoot, remove); err != nil {
		return err
	}
	if err := logdir.ClearPending(root); err != nil {
		return err
	}
	return clearStaging(root)
}

// writePublishTiles writes the partial tiles that the origin wrote for the
// records between old and next at each of its publishes, beyond those
// Commit writes for next itself, so the restored .pando/tile holds what the
// origin's did. A publish is a run of records with one publication time; two
// publishes within the same second look like one.
func writePublishTiles(root string, old, next *logdir.Log) error {
	lines, err := journal.Lines(next.Journal, 0, next.N())
	if err != nil {
		return err
	}
	final := make(map[tlog.Tile]bool)
	for _, t := range tlog.NewTiles(logdir.TileHeight, old.N(), next.N()) {
		final[t] = true
	}
	dirs := make(map[string]bool)
	hr := next.HashReader()
	prev, prevTime := old.N(), int64(-1)
	for i := old.N(); i < next.N(); i++ {
		rec, err := journal.ParseLine(lines[i])
		if err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
		if i > old.N() && rec.Time != prevTime {
			if err := writeTiles(root, tlog.NewTiles(logdir.TileHeight, prev, i), final, hr, dirs); err != nil {
				return err
			}
			prev = i
		}
		prevTime = rec.Time
	}
	for d := range dirs { // durable before the checkpoint that covers them
		if err := safefile.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// writeTiles writes every tile of ts that is not in skip.
func writeTiles(root string, ts []tlog.Tile, skip map[tlog.Tile]bool, hr tlog.HashReader, dirs map[string]bool) error {
	for _, t := range ts {
		if skip[t] {
			continue
		}
		data, err := tlog.ReadTileData(t, hr)
		if err != nil {
			return err
		}
		name := filepath.Join(root, filepath.FromSlash(logdir.TilePrefix+t.Path()))
		if err := safefile.WriteFileNoDirSync(name, data, 0o644); err != nil {
			return err
		}
		dirs[filepath.Dir(name)] = true
	}
	return nil
}
