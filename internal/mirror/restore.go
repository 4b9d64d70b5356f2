package mirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/safefile"
	"github.com/pando-mirror/pando/internal/upstream"
)

// A Source is one copy of the tree to restore from: a registry mirror with
// its http and https access points, or a URL given directly.
type Source struct {
	Name string
	URLs []string // http(s) tree URLs, tried in order until one answers
}

// RestoreOptions configure one restore run.
type RestoreOptions struct {
	Root     string
	Sources  []Source
	Verifier note.Verifier // the origin's public key
	Jobs     int           // objects fetched at once; default 64
	BWLimit  int64         // bytes per second shared by all transfers; 0: none
	HTTP     upstream.Config
	Meter    *progress.Meter
	Log      *slog.Logger
}

// What restore made of a source, in MirrorReport.State.
const (
	StateUsed         = "used"          // holds the restored checkpoint
	StateStale        = "stale"         // holds a prefix of the restored log; used for what it has
	StateFork         = "fork"          // its signed log is not a prefix of the restored one: not used
	StateBadSignature = "bad-signature" // its checkpoint does not verify: not used
	StateBadJournal   = "bad-journal"   // its journal could not be had or does not reproduce its checkpoint; its objects are still tried
	StateUnreachable  = "unreachable"   // no checkpoint could be fetched
)

// ErrIncomplete means some live objects were held by no source with the
// right bytes: the verified ones are installed, but no checkpoint is written.
var ErrIncomplete = errors.New("restore incomplete")

// A RestoreReport says what a restore found and did.
type RestoreReport struct {
	Records        int64           `json:"records"`
	Root           string          `json:"root"` // the restored log's tree hash
	CheckpointTime time.Time       `json:"checkpoint_time"`
	CheckpointFrom string          `json:"checkpoint_from"` // the source whose signed checkpoint was written
	JournalFrom    string          `json:"journal_from"`
	Mirrors        []MirrorReport  `json:"mirrors"`
	Complete       bool            `json:"complete"`
	UpToDate       bool            `json:"up_to_date"` // the tree already held the restored state
	Restored       int             `json:"restored"`   // live paths in place
	Fetched        int             `json:"files_fetched"`
	Batched        int             `json:"files_batched"` // of those fetched, in batch answers
	Reused         int             `json:"files_reused"`  // copied from the tree itself
	Staged         int             `json:"files_staged"`  // verified by an earlier, interrupted run
	Bytes          int64           `json:"bytes"`
	Missing        []MissingObject `json:"missing"`
	Seconds        float64         `json:"seconds"`
}

// A MirrorReport is what restore found at one source.
type MirrorReport struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	Records *int64 `json:"records"` // of its verified checkpoint; null if none
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`
	Served  int64  `json:"served"` // objects fetched from it
	Failed  int64  `json:"failed"` // objects it was asked for and did not serve right
}

// A MissingObject is a live path whose bytes no source served.
type MissingObject struct {
	Path      string          `json:"path"`
	Record    int64           `json:"record"` // index of the journal record that set it
	Published time.Time       `json:"published"`
	Size      int64           `json:"size"`
	SHA256    string          `json:"sha256"`
	Tried     []SourceFailure `json:"tried"`
}

// A SourceFailure is why one source did not serve an object.
type SourceFailure struct {
	Mirror string `json:"mirror"`
	Error  string `json:"error"`
}

// A peer is one source during a restore. It is the fetcher's source for the
// objects it should hold.
type peer struct {
	rep    MirrorReport
	client *upstream.Client
	cp     checkpoint.Checkpoint
	signed []byte
	holds  map[[32]byte]string // stale peers: a path holding each blob of their state

	served, failed atomic.Int64
}

func (p *peer) Open(ctx context.Context, path string, off int64) (io.ReadCloser, int64, error) {
	return p.client.Open(ctx, path, off)
}

func (p *peer) Name() string { return p.rep.Name }

func (p *peer) Batches(ctx context.Context) bool { return httpSource{p.client}.Batches(ctx) }

func (p *peer) Batch(ctx context.Context, paths []string, max int64) (batchReader, error) {
	return httpSource{p.client}.Batch(ctx, paths, max)
}

func (p *peer) setState(state string, err error) {
	p.rep.State = state
	if err != nil {
		p.rep.Error = err.Error()
	}
}

// A restoreRun is one restore in progress.
type restoreRun struct {
	opts   RestoreOptions
	rep    *RestoreReport
	peers  []*peer
	base   *logdir.Log // what the tree held already (empty for a lost origin)
	next   *logdir.Log // the log being restored
	signed []byte      // its newest signed checkpoint

	order    map[[32]byte]int // each blob's place in the plan, to rotate its sources
	mu       sync.Mutex
	failures map[[32]byte][]SourceFailure
}

// Restore rebuilds a lost origin from its mirrors: a sync from many
// upstreams at once. It asks every source for its checkpoint and verifies
// it, takes the journal of the newest one that reproduces its signed root,
// reports every other checkpoint that is not a prefix of that log as a fork,
// and fetches each live object from the sources that should hold it,
// spreading the load, checking size and SHA-256, resuming what an
// interrupted run left in the staging area. The signed checkpoint is written
// last, byte for byte as the origin signed it, and only when every live
// object is in place; otherwise the report lists what no source served, and
// the error wraps ErrIncomplete. The report is filled in as far as the run
// got, also when it returns an error.
func Restore(ctx context.Context, opts RestoreOptions) (*RestoreReport, error) {
	start := time.Now()
	if opts.Jobs <= 0 {
		opts.Jobs = 64
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rep := &RestoreReport{Mirrors: []MirrorReport{}, Missing: []MissingObject{}}
	defer func() { rep.Seconds = time.Since(start).Seconds() }()
	switch {
	case len(opts.Sources) == 0:
		return rep, errors.New("no mirrors to restore from")
	case opts.Verifier == nil:
		return rep, errors.New("no origin public key to verify against")
	}
	if err := checkTarget(opts.Root); err != nil {
		return rep, err
	}
	lockName := filepath.Join(opts.Root, filepath.FromSlash(logdir.LockPath))
	lk, err := safefile.TryLock(lockName, "pando restore")
	if errors.Is(err, safefile.ErrLocked) {
		return rep, fmt.Errorf("another run holds the lock on %s: %w", opts.Root, err)
	}
	if err != nil {
		return rep, err
	}
	defer lk.Unlock()
	if err := checkCase(opts.Root, lockName); err != nil {
		return rep, err
	}
	r := &restoreRun{opts: opts, rep: rep, failures: make(map[[32]byte][]SourceFailure)}
	defer r.closePeers()
	err = r.run(ctx)
	r.fillMirrors()
	return rep, err
}

func (r *restoreRun) run(ctx context.Context) error {
	var err error
	if r.base, err = localLog(r.opts); err != nil {
		return err
	}
	r.peers = probe(ctx, r.opts)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.chooseLog(ctx); err != nil {
		return err
	}
	r.classify()
	if err := r.pickCheckpoint(); err != nil {
		return err
	}
	if err := r.findHoldings(); err != nil {
		return err
	}
	return r.restoreTree(ctx)
}

// checkTarget refuses to restore into a directory that holds files but is
// not a pando tree (an earlier restore's or a published one): the restore
// would mix them with the origin's.
func checkTarget(root string) error {
	if root == "" {
		return errors.New("restore: no target directory")
	}
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(ents) == 0) {
		return os.MkdirAll(root, 0o755)
	}
	if err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(root, logdir.Dir)); err == nil {
		return nil
	}
	return fmt.Errorf("%s: not empty and not a pando tree (no %s): refusing to restore into it", root, logdir.Dir)
}

// localLog returns the tree's own verified log, or an empty one.
func localLog(opts RestoreOptions) (*logdir.Log, error) {
	l, err := logdir.Load(opts.Root, opts.Verifier)
	if errors.Is(err, logdir.ErrNoLog) {
		return logdir.Empty(opts.Verifier.Name()), nil
	}
	if err != nil {
		return nil, fmt.Errorf("the tree's own log: %w", err)
	}
	return l, nil
}

func (r *restoreRun) closePeers() {
	for _, p := range r.peers {
		if p.client != nil {
			p.client.Close()
		}
	}
}

// fillMirrors copies the peers' reports and counters into the report.
func (r *restoreRun) fillMirrors() {
	for _, p := range r.peers {
		p.rep.Served, p.rep.Failed = p.served.Load(), p.failed.Load()
		r.rep.Mirrors = append(r.rep.Mirrors, p.rep)
	}
}

// probeConns bounds how many sources are asked for their checkpoint at once.
const probeConns = 16

// probe asks every source for its checkpoint, at most probeConns at a time.
func probe(ctx context.Context, opts RestoreOptions) []*peer {
	peers := make([]*peer, len(opts.Sources))
	var g errgroup.Group
	g.SetLimit(probeConns)
	for i, s := range opts.Sources {
		g.Go(func() error {
			peers[i] = probeOne(ctx, opts, s)
			return nil
		})
	}
	g.Wait()
	return peers
}

// probeOne fetches and verifies one source's checkpoint from the first of
// its URLs that serves one.
func probeOne(ctx context.Context, opts RestoreOptions, s Source) *peer {
	p := &peer{rep: MirrorReport{Name: s.Name}}
	if len(s.URLs) == 0 {
		p.setState(StateUnreachable, errors.New("no http or https access point"))
		return p
	}
	p.rep.URL = s.URLs[0]
	state := StateUnreachable
	var errs []error
	for _, u := range s.URLs {
		c, err := upstream.Dial(ctx, u, opts.HTTP)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cp, signed, err := c.Checkpoint(ctx, opts.Verifier)
		if err == nil {
			p.client, p.cp, p.signed, p.rep.URL = c, cp, signed, u
			p.rep.Records = &p.cp.N
			return p
		}
		c.Close()
		if !unreachable(err) {
			state = StateBadSignature
		}
		errs = append(errs, err)
	}
	p.setState(state, errors.Join(errs...))
	return p
}

// unreachable reports whether err is a failure to get an answer, as opposed
// to an answer that does not verify.
func unreachable(err error) bool {
	var se *upstream.StatusError
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &se) || errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// chooseLog fetches the journal of the newest verified checkpoint that a
// source can back with one reproducing its root, trying sources from the
// newest down. Journal fetches are extensions of the tree's own log, so a
// source behind it is never chosen.
func (r *restoreRun) chooseLog(ctx context.Context) error {
	var cands []*peer
	for _, p := range r.peers {
		if p.client != nil && p.cp.N >= r.base.N() {
			cands = append(cands, p)
		}
	}
	slices.SortStableFunc(cands, func(a, b *peer) int {
		if c := cmp.Compare(b.cp.N, a.cp.N); c != 0 {
			return c
		}
		return b.cp.Time.Compare(a.cp.Time)
	})
	for _, p := range cands {
		next, _, err := p.client.Extend(ctx, r.base, p.cp)
		if err == nil {
			r.next = next
			r.rep.JournalFrom = p.rep.Name
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.setState(StateBadJournal, err)
		r.opts.Log.Warn("journal refused", "mirror", p.rep.Name, "err", err)
	}
	if len(cands) == 0 && r.base.N() > 0 {
		return fmt.Errorf("no mirror holds a signed log of at least the tree's own %d records", r.base.N())
	}
	return errors.New("no mirror serves a verified checkpoint with a journal that reproduces it")
}

// classify sets the state of every peer with a verified checkpoint and no
// state yet: its signed log must be the restored one or a prefix of it.
func (r *restoreRun) classify() {
	for _, p := range r.peers {
		if p.client == nil || p.rep.State != "" {
			continue
		}
		if p.cp.N > r.next.N() { // only ever reached after its journal was refused
			p.setState(StateBadJournal, nil)
			continue
		}
		h, err := tlog.TreeHash(p.cp.N, r.next.HashReader())
		switch {
		case err != nil:
			p.setState(StateFork, err)
		case h != p.cp.Hash:
			p.setState(StateFork, fmt.Errorf("checkpoint of %d records with root %s is not a prefix of the restored log: %w",
				p.cp.N, p.cp.Hash, checkpoint.ErrFork))
			r.opts.Log.Warn("forked mirror", "mirror", p.rep.Name, "records", p.cp.N)
		case p.cp.N == r.next.N():
			p.setState(StateUsed, nil)
		default:
			p.setState(StateStale, nil)
		}
	}
}

// pickCheckpoint takes the newest signature over the restored log among the
// sources that hold it: the origin's last proof of life.
func (r *restoreRun) pickCheckpoint() error {
	var best *peer
	for _, p := range r.peers {
		if p.rep.State == StateUsed && (best == nil || p.cp.Time.After(best.cp.Time)) {
			best = p
		}
	}
	if best == nil { // the journal's source is used: never reached
		return errors.New("no mirror holds the restored log's checkpoint")
	}
	r.signed = best.signed
	r.next.Checkpoint = best.cp
	r.rep.Records, r.rep.Root = best.cp.N, best.cp.Hash.String()
	r.rep.CheckpointTime, r.rep.CheckpointFrom = best.cp.Time, best.rep.Name
	return nil
}
