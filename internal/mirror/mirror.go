// Package mirror owns a mirror's side of pando: one locked sync run that
// brings a local tree to the newest signed state an upstream (the origin or
// any other mirror) serves, verifying everything before it is used.
//
// A run follows the steps in DESIGN.md: fetch and verify the upstream's
// checkpoint, refuse a rollback or fork, fetch only the journal records after
// the local ones and check they reproduce the signed root, plan, stage every
// needed file under .pando/local/staging (in parallel, under a shared
// bandwidth cap, resuming partial files, each checked for size and SHA-256),
// then record the intent, move the files in, write the new journal, tiles and
// checkpoint, and only then remove what the new state no longer has. A run
// killed at any moment leaves every served file byte-identical to a version
// the origin signed, and the next run completes the work.
//
// Restore is the same machinery run from many upstreams at once, to rebuild
// a lost origin from its mirrors (docs/RESTORE.md).
package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/safefile"
	"github.com/pando-mirror/pando/internal/upstream"
)

// Options configure one sync run.
type Options struct {
	Root        string
	Upstreams   []string      // tried in order until one serves a usable state
	Verifier    note.Verifier // the origin's public key
	Jobs        int           // files fetched at once; default 256
	BWLimit     int64         // bytes per second shared by all transfers; 0: none
	DeleteDelay time.Duration // keep removed files this long before deleting them
	Wait        bool          // wait for a concurrent run instead of failing
	HTTP        upstream.Config
	Meter       *progress.Meter
	Log         *slog.Logger
	Now         func() time.Time
}

// Result summarizes a sync run.
type Result struct {
	Upstream      string  `json:"upstream"`
	Protocol      string  `json:"protocol,omitempty"`
	RecordsBefore int64   `json:"records_before"`
	RecordsAfter  int64   `json:"records_after"`
	UpToDate      bool    `json:"up_to_date"`
	Installed     int     `json:"installed"`
	Fetched       int     `json:"files_fetched"`
	Batched       int     `json:"files_batched"` // of those fetched, in batch answers (docs/FORMAT.md)
	Reused        int     `json:"files_reused"`
	Bytes         int64   `json:"bytes"`
	Removed       int     `json:"removed"`
	Seconds       float64 `json:"seconds"`
}

// Sync runs one sync of opts.Root. It returns an error if no upstream could
// be used; the tree then still serves its previous state.
func Sync(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	opts = withDefaults(opts)
	lk, err := lock(ctx, opts)
	if err != nil {
		return Result{}, err
	}
	defer lk.Unlock()

	var errs []error
	for i, up := range opts.Upstreams {
		res, err := syncFrom(ctx, opts, up)
		res.Seconds = time.Since(start).Seconds()
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return res, err
		}
		if i < len(opts.Upstreams)-1 {
			opts.Log.Warn("upstream failed; trying the next", "upstream", up, "err", err)
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return Result{}, errs[0]
	}
	return Result{}, fmt.Errorf("every upstream failed: %w", errors.Join(errs...))
}

func withDefaults(o Options) Options {
	if o.Jobs <= 0 {
		o.Jobs = 256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.HTTP.Conns <= 0 {
		o.HTTP.Conns = min(o.Jobs, 8)
	}
	return o
}

func lock(ctx context.Context, opts Options) (*safefile.Lock, error) {
	name := filepath.Join(opts.Root, filepath.FromSlash(logdir.LockPath))
	if err := os.MkdirAll(opts.Root, 0o755); err != nil {
		return nil, err
	}
	var lk *safefile.Lock
	var err error
	if opts.Wait {
		lk, err = safefile.WaitLock(ctx, name, "pando mirror sync")
	} else {
		lk, err = safefile.TryLock(name, "pando mirror sync")
	}
	if errors.Is(err, safefile.ErrLocked) {
		return nil, fmt.Errorf("another sync holds the lock on %s (use --wait to queue): %w", opts.Root, err)
	}
	if err != nil {
		return nil, err
	}
	if err := checkCase(opts.Root, name); err != nil {
		lk.Unlock()
		return nil, err
	}
	return lk, nil
}

// checkCase refuses a tree on a file system that does not tell upper from
// lower case, found by the name of its lock file: there, two paths that
// differ only in case are one file, and installing one could overwrite or
// remove the other.
func checkCase(root, lockName string) error {
	ok, err := safefile.CaseSensitive(lockName)
	switch {
	case err != nil:
		return err
	case !ok:
		return &CaseError{Root: root, Probe: lockName}
	}
	return nil
}

// A CaseError is a sync's or restore's refusal of a tree on a file
// system that does not tell upper from lower case. It will not go away by
// trying again.
type CaseError struct {
	Root  string
	Probe string // the file whose upper-case name was the same file
}

func (e *CaseError) Error() string {
	return fmt.Sprintf("%s is on a file system that does not tell upper from lower case "+
		"(%s and its upper-case name are one file), where paths that differ only in case "+
		"would overwrite each other; use a case-sensitive one (on macOS, a case-sensitive APFS volume)",
		e.Root, e.Probe)
}

// syncFrom runs the sync against one upstream.
func syncFrom(ctx context.Context, opts Options, raw string) (Result, error) {
	if strings.HasPrefix(raw, "rsync://") {
		return syncRsync(ctx, opts, raw)
	}
	res := Result{Upstream: raw}
	c, err := upstream.Dial(ctx, raw, opts.HTTP)
	if err != nil {
		return res, err
	}
	defer c.Close()
	upCP, upSigned, err := c.Checkpoint(ctx, opts.Verifier)
	if err != nil {
		return res, err
	}
	res.Protocol = c.FileProto()
	if have, err := localState(opts); err == nil && have.N < upCP.N {
		// Whether the upstream answers batches is asked while the log is
		// extended and the plan made, not after.
		go c.Batches(ctx)
	}
	src := httpSource{c}
	return apply(ctx, opts, &res, upCP, upSigned, src, func(old *logdir.Log) (*logdir.Log, []journal.Record, error) {
		return c.Extend(ctx, old, upCP)
	})
}

// localState reads the tree's own verified checkpoint, or an empty one for a
// tree that has never synced.
func localState(opts Options) (checkpoint.Checkpoint, error) {
	cp, _, err := logdir.ReadCheckpoint(opts.Root, opts.Verifier)
	if errors.Is(err, logdir.ErrNoLog) {
		return checkpoint.Checkpoint{Origin: opts.Verifier.Name()}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("local checkpoint: %w", err)
	}
	return cp, nil
}

// apply brings the tree to the upstream's verified checkpoint upCP. extend
// returns the local log extended by the upstream's new records, and those.
func apply(ctx context.Context, opts Options, res *Result, upCP checkpoint.Checkpoint, upSigned []byte,
	src source, extend func(old *logdir.Log) (*logdir.Log, []journal.Record, error)) (Result, error) {
	haveCP, err := localState(opts)
	if err != nil {
		return *res, err
	}
	res.RecordsBefore, res.RecordsAfter = haveCP.N, haveCP.N
	if err := checkpoint.Compare(haveCP, upCP); err != nil {
		return *res, fmt.Errorf("%s: %w", res.Upstream, err)
	}
	pending, err := logdir.ReadPending(opts.Root)
	if err != nil {
		return *res, err
	}
	if upCP.N == haveCP.N && pending == nil {
		res.UpToDate = true
		if err := refreshCheckpoint(opts.Root, haveCP, upCP, upSigned); err != nil {
			return *res, err
		}
		return *res, processDeletes(opts, nil, nil)
	}
	old := logdir.Empty(opts.Verifier.Name())
	if haveCP.N > 0 {
		if old, err = logdir.Load(opts.Root, opts.Verifier); err != nil {
			return *res, err
		}
	}
	next, added, err := extend(old)
	if err != nil {
		return *res, err
	}
	if next.Checkpoint.Hash != upCP.Hash { // extend checks this; never install on trust
		return *res, fmt.Errorf("%s: extended log does not match the signed root: %w", res.Upstream, checkpoint.ErrFork)
	}
	suspect := make(map[string]bool)
	if pending != nil {
		for _, f := range pending.Install {
			suspect[f.Path] = true
		}
	}
	changed := make([]string, len(added))
	for i, r := range added {
		changed[i] = r.Path
	}
	p := makePlan(old.State, next.State, changed, suspect)
	p.remove = append(p.remove, leftovers(pending, old.State, next.State)...)
	direct := p.markDirect(old.State, suspect)
	if err := stageAndInstall(ctx, opts, res, p, direct, pending, src, old, next, upSigned); err != nil {
		return *res, err
	}
	res.RecordsAfter = next.N()
	return *res, nil
}

// leftovers returns the paths an interrupted run may have left in the tree
// that neither the old state nor the new one names: files it installed for a
// state that has since moved on, and removals it never carried out.
func leftovers(pending *logdir.Pending, have, want *journal.State) []string {
	if pending == nil {
		return nil
	}
	var out []string
	consider := func(p string) {
		if _, ok := want.Lookup(p); ok || want.IsDir(p) {
			return
		}
		if _, ok := have.Lookup(p); ok {
			return // makePlan already removes it
		}
		out = append(out, p)
	}
	for _, f := range pending.Install {
		consider(f.Path)
	}
	for _, p := range pending.Remove {
		consider(p)
	}
	return out
}

// stageAndInstall fetches what p needs, then commits it: the two-stage
// publish of DESIGN.md step 6. With direct, the blobs p marked are placed
// as they are fetched.
func stageAndInstall(ctx context.Context, opts Options, res *Result, p plan, direct bool, pending *logdir.Pending, src source,
	old, next *logdir.Log, signed []byte) error {
	staging := filepath.Join(opts.Root, filepath.FromSlash(logdir.StagingDir))
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return err
	}
	f := &fetcher{root: opts.Root, staging: staging, src: src, lim: newLimiter(opts.BWLimit), meter: opts.Meter,
		jobs: opts.Jobs, syncEach: syncEachBelow(len(p.blobs))}
	// The intent is written while the fetch runs: nothing is placed (see
	// direct.go) or moved into place before it is durable, and a fetch
	// that fails having placed nothing puts the earlier one back.
	intent := pendingOf(p, next.N()).Merge(pending)
	written := make(chan error, 1)
	go func() { written <- logdir.WritePending(opts.Root, intent) }()
	f.intentWritten = sync.OnceValue(func() error { return <-written })
	// Many files of new paths are placed as they are fetched (direct);
	// a small sync stages everything, made durable file by file.
	bigSync := !syncEachBelow(len(p.install))
	f.direct = direct
	st, err := f.fetchAll(ctx, p.blobs)
	f.warnBatchFails(opts.Log, "upstream", src.Name())
	res.Fetched, res.Batched, res.Reused, res.Bytes = st.fetched, st.batched, st.reused, st.bytes
	if err == nil {
		err = ctx.Err()
	}
	if ierr := f.intentWritten(); err == nil {
		err = ierr
	}
	if err != nil {
		if len(st.placed) == 0 {
			restoreIntent(opts.Root, pending)
		}
		return err
	}
	if err := f.durable(); err != nil { // before anything moves into place
		return err
	}
	root, err := os.OpenRoot(opts.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	in := &installer{root: root, rootDir: opts.Root, staging: logdir.StagingDir, commitSyncFS: bigSync}
	rest := p.withoutPlaced(st.placed)
	if err := in.install(rest); err != nil {
		return err
	}
	commit := logdir.Commit
	if bigSync { // one syncfs for the moves, the journal and the tiles
		commit = logdir.CommitSyncFS
	}
	if err := commit(opts.Root, old, next, signed); err != nil {
		return err
	}
	res.Installed = len(p.install)
	// The deletion schedule now covers the removals: the intent is done.
	if err := processDeletes(opts, p.remove, next.State); err != nil {
		return err
	}
	res.Removed = len(p.remove)
	if err := logdir.ClearPending(opts.Root); err != nil {
		return err
	}
	return clearStaging(opts.Root)
}

// restoreIntent puts back the intent a run found, after a run that failed
// before it changed the tree: the next run then has no more to check.
func restoreIntent(root string, earlier *logdir.Pending) {
	if earlier == nil {
		logdir.ClearPending(root)
		return
	}
	logdir.WritePending(root, earlier)
}

// processDeletes adds removed paths to the deletion schedule, due after the
// delete delay, and deletes every path whose time has come and that the
// current log (state, or loaded from disk when nil) does not name again.
func processDeletes(opts Options, removed []string, state *journal.State) error {
	ds, err := logdir.ReadDeletes(opts.Root)
	if err != nil {
		return err
	}
	scheduled := len(ds) > 0 // a schedule is on disk
	due := opts.Now().Add(opts.DeleteDelay)
	for _, p := range removed {
		ds = append(ds, logdir.Deletion{Due: due, Path: p})
	}
	if len(ds) == 0 {
		return nil
	}
	// Removals due later must outlive the intent, which is cleared after
	// this; removals carried out now are covered by it until they are done.
	if scheduled || opts.DeleteDelay > 0 {
		if err := logdir.WriteDeletes(opts.Root, ds); err != nil {
			return err
		}
	}
	if state == nil {
		l, err := logdir.Load(opts.Root, opts.Verifier)
		if err != nil {
			return err
		}
		state = l.State
	}
	live := func(p string) bool { _, ok := state.Lookup(p); return ok || state.IsDir(p) }
	root, err := os.OpenRoot(opts.Root)
	if err != nil {
		return err
	}
	defer root.Close()
	var keep []logdir.Deletion
	var now []string
	for _, d := range ds {
		switch {
		case live(d.Path):
		case d.Due.After(opts.Now()):
			keep = append(keep, d)
		default:
			now = append(now, d.Path)
		}
	}
	if err := removePaths(root, now); err != nil {
		return err
	}
	if !scheduled && len(keep) == 0 {
		return nil
	}
	return logdir.WriteDeletes(opts.Root, keep)
}

// refreshCheckpoint replaces the local checkpoint with an upstream one for
// the same records that the origin signed later, so the mirror passes on the
// origin's proof of life.
func refreshCheckpoint(root string, have, got checkpoint.Checkpoint, signed []byte) error {
	if !got.Time.After(have.Time) {
		return nil
	}
	return safefile.WriteFile(filepath.Join(root, filepath.FromSlash(logdir.CheckpointPath)), signed, 0o644)
}

// httpSource adapts an upstream client to the fetcher.
type httpSource struct{ c *upstream.Client }

func (s httpSource) Open(ctx context.Context, p string, off int64) (io.ReadCloser, int64, error) {
	return s.c.Open(ctx, p, off)
}
func (s httpSource) Name() string { return s.c.Base.String() }

func (s httpSource) Batches(ctx context.Context) bool { return s.c.Batches(ctx) }

func (s httpSource) Batch(ctx context.Context, paths []string, max int64) (batchReader, error) {
	r, err := s.c.Batch(ctx, paths, max)
	if err != nil {
		return nil, err
	}
	return r, nil
}
