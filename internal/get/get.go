// Package get downloads one file through a pando mirror network and
// verifies it against the origin's signed log, trusting no hub and no
// mirror.
//
// Fetch finds the trees that may hold the file (a hub's mirror list for it,
// else the hub's mirrors.json, then mirrors the caller names, then the tree
// the URL itself points into), proves the file's latest record in the
// origin's signed log (Client.Verify: the checkpoint, the journal read
// backwards from its end, O(log N) tiles), and downloads the bytes from the
// best mirror, falling back to the next on any error or on bytes that do not
// match the record. Only the signed log says what the right size and
// SHA-256 are; what a hub claims is never used for that.
// With Options.State, the newest checkpoint verified under the origin's key
// is kept between runs, and a tree whose log is older (a rollback) or does
// not extend it (a fork) is refused.
//
// The download goes to Output+".part", is resumed from there by a Range
// request when a previous attempt stopped, and is renamed to Output, after an
// fsync, only once its size and SHA-256 match the record.
package get

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/upstream"
)

// Options configure one Fetch.
type Options struct {
	URL      string        // the file at a hub, a mirror or the origin (required)
	Path     string        // the file's path in the tree; "" to learn it from the hub or the URL
	Verifier note.Verifier // the origin's key (required)
	Mirrors  []string      // tree URLs to try after the hub's
	Output   string        // the file to write (required)
	Force    bool          // replace an existing Output that holds other bytes

	HTTP            upstream.Config // timeouts, user agent, TLS
	Client          *http.Client    // nil: one built from HTTP
	MaxAge          time.Duration   // refuse a checkpoint older than this; 0: any age
	State           string          // see Client.StateDir; "" keeps no state
	MaxJournalBytes int64           // see Client.MaxJournalBytes

	Meter *progress.Meter // download progress; may be nil
	Log   *slog.Logger    // fall-backs and hub disagreements; nil discards
	Rand  *rand.Rand      // the order of mirrors.json mirrors; nil: random
}

// Result says what Fetch did.
type Result struct {
	Path       string                // the path asked for
	Target     string                // the path whose bytes were fetched (Path, or where its symlinks lead)
	Size       int64                 // from the signed record
	SHA256     [32]byte              // from the signed record
	Record     int64                 // the record's index in the journal
	Checkpoint checkpoint.Checkpoint // the verified checkpoint that holds it
	Tree       string                // the tree whose log proved the record
	Output     string
	MirrorUsed string    // the URL the bytes came from; "" if they were on disk already
	Tried      []Attempt // every verification and download attempt, in order
	Cost       Cost      // what proving the record took
	State      string    // the file that keeps the newest checkpoint of the key; "" without Options.State
	Duration   time.Duration
}

// maxLinks bounds the symlinks followed from the path asked for.
const maxLinks = 8

var errTooManyLinks = errors.New("too many symlinks")

// Fetch downloads the file at opts.URL to opts.Output and verifies it; see
// the package documentation. The Result is filled in as far as Fetch got,
// also on error. Errors a caller may act on: ErrRemoved, ErrNotFound and
// ErrExists (wrapped), *NoProofError, *NoMirrorError and *StateError.
func Fetch(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	if opts.URL == "" || opts.Verifier == nil || opts.Output == "" {
		return Result{}, errors.New("get: URL, Verifier and Output are required")
	}
	c := NewClient(opts.HTTP, opts.Client)
	c.MaxAge, c.MaxJournalBytes, c.StateDir = opts.MaxAge, opts.MaxJournalBytes, opts.State
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &run{c: c, o: opts, log: log, res: Result{Output: opts.Output}}
	if opts.State != "" {
		r.res.State = seenFile(opts.State, opts.Verifier)
	}
	err := r.fetch(ctx)
	r.res.Duration = time.Since(start)
	return r.res, err
}

// run is one Fetch in progress.
type run struct {
	c   *Client
	o   Options
	log *slog.Logger
	res Result
}

func (r *run) fetch(ctx context.Context) error {
	pl, err := r.c.plan(ctx, &r.o, r.log, r.o.Rand)
	if err != nil {
		return err
	}
	r.res.Path = pl.path
	ver, target, err := r.verify(ctx, pl)
	if err != nil {
		return err
	}
	rec := ver.Record
	r.res.Target, r.res.Size, r.res.SHA256 = target, rec.Size, rec.SHA256
	r.res.Record, r.res.Checkpoint, r.res.Tree = ver.Index, ver.Checkpoint, ver.Tree
	r.compareHub(pl.hub, rec)
	w := want{path: target, size: rec.Size, sum: rec.SHA256, mtime: rec.MTime}
	same, err := checkOutput(r.o.Output, w, r.o.Force)
	if err != nil || same {
		return err
	}
	r.o.Meter.SetTotal(w.size)
	used, err := r.download(ctx, pl.sources, w)
	r.res.MirrorUsed = used
	return err
}

// verify proves the file's record against the first tree that can, and
// follows symlinks. A removed or unknown path ends the search: that is what
// the origin signed.
func (r *run) verify(ctx context.Context, pl plan) (Verification, string, error) {
	var tried []Attempt
	for _, s := range pl.sources {
		ver, target, err := r.verifyOn(ctx, s.tree, pl.path)
		r.res.Cost.add(ver.Cost)
		r.res.Tried = append(r.res.Tried, Attempt{URL: s.tree, Step: "verify", Err: err})
		if err == nil {
			return ver, target, nil
		}
		var stateErr *StateError
		if errors.Is(err, ErrRemoved) || errors.Is(err, ErrNotFound) || errors.Is(err, errTooManyLinks) ||
			errors.As(err, &stateErr) || ctx.Err() != nil {
			r.res.Checkpoint, r.res.Tree, r.res.Record = ver.Checkpoint, ver.Tree, ver.Index
			return ver, "", err
		}
		r.log.Warn("cannot prove the record with this tree", "tree", s.tree, "err", err)
		tried = append(tried, Attempt{URL: s.tree, Step: "verify", Err: err})
	}
	return Verification{}, "", &NoProofError{Path: pl.path, Tried: tried}
}

// verifyOn proves p's record in one tree, following symlink records.
func (r *run) verifyOn(ctx context.Context, tree, p string) (Verification, string, error) {
	var cost Cost
	for hops := 0; ; hops++ {
		ver, err := r.c.Verify(ctx, tree, p, r.o.Verifier)
		cost.add(ver.Cost)
		ver.Cost = cost
		if err != nil || ver.Record.Kind != journal.Symlink {
			return ver, p, err
		}
		if hops == maxLinks {
			return ver, p, fmt.Errorf("%s: %w (more than %d)", r.res.Path, errTooManyLinks, maxLinks)
		}
		next := resolveLink(p, ver.Record.Target)
		r.log.Info("following symlink", "path", p, "target", next)
		p = next
	}
}

func (c *Cost) add(o Cost) {
	c.JournalBytes += o.JournalBytes
	c.JournalRequests += o.JournalRequests
	c.Tiles += o.Tiles
}

// compareHub logs where the hub's claims about the file differ from the
// signed record. They are never used.
func (r *run) compareHub(ml *mirrorList, rec journal.Record) {
	if ml == nil {
		return
	}
	sum := fmt.Sprintf("%x", rec.SHA256)
	if (ml.Size != nil && *ml.Size != rec.Size) || (ml.SHA256 != "" && ml.SHA256 != sum) {
		r.log.Warn("the hub's mirror list disagrees with the signed log; using the signed log",
			"path", ml.Path, "hub_sha256", ml.SHA256, "signed_sha256", sum)
	}
}
