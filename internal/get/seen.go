package get

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/safefile"
)

// A client that keeps state (Client.StateDir) remembers, for each origin
// key, the newest checkpoint it verified: the signed note itself, in a file
// named after the key (seenFile). Every later checkpoint signed by that key
// must extend it. One with fewer records is a rollback (a mirror, or an
// attacker in its place, serving an older signed state in which an old
// version of a file is the latest); one with as many records and another
// root, or more records whose tree does not contain the remembered one
// (checked by a consistency proof over the new tree's tiles), is a fork.
// Either way the tree is refused, and the next one tried.

// seenFile is the file under dir that keeps the newest checkpoint verified
// with v: the key's name (escaped for a file name) and its hash, as in
// v's text form.
func seenFile(dir string, v note.Verifier) string {
	return filepath.Join(dir, fmt.Sprintf("%s+%08x", url.PathEscape(v.Name()), v.KeyHash()))
}

// checkSeen refuses cp, the checkpoint of tree verified with v, unless it
// extends the newest checkpoint verified before with v; hr reads the tiles
// of cp's tree for the consistency proof. A cp newer than the one kept
// replaces it, under a lock so that concurrent runs keep the newest.
func (c *Client) checkSeen(ctx context.Context, tree string, v note.Verifier, cp checkpoint.Checkpoint, signed []byte, hr tlog.HashReader) error {
	if c.StateDir == "" {
		return nil
	}
	name := seenFile(c.StateDir, v)
	lock, err := safefile.WaitLock(ctx, name+".lock", "pando get")
	if err != nil {
		return &StateError{Path: name, Err: err}
	}
	defer lock.Unlock()
	have, err := readSeen(name, v)
	if errors.Is(err, fs.ErrNotExist) {
		return writeSeen(name, signed)
	}
	if err != nil {
		return &StateError{Path: name, Err: err}
	}
	if err := extends(have, cp, hr); err != nil {
		return fmt.Errorf("%s: %w (the newest checkpoint verified before, signed %s, is kept in %s)",
			tree+logdir.CheckpointPath, err, have.Time.UTC().Format(time.RFC3339), name)
	}
	if cp.N == have.N {
		return nil
	}
	return writeSeen(name, signed)
}

// extends checks that cp's tree contains have's as a prefix.
func extends(have, cp checkpoint.Checkpoint, hr tlog.HashReader) error {
	if err := checkpoint.Compare(have, cp); err != nil {
		return err
	}
	if cp.N == have.N || have.N == 0 {
		return nil
	}
	proof, err := tlog.ProveTree(cp.N, have.N, hr)
	if err != nil {
		return fmt.Errorf("consistency proof from %d to %d records: %w", have.N, cp.N, err)
	}
	if err := tlog.CheckTree(proof, cp.N, cp.Hash, have.N, have.Hash); err != nil {
		return fmt.Errorf("%w: its %d records do not contain the %d verified before: %v", checkpoint.ErrFork, cp.N, have.N, err)
	}
	return nil
}

// A StateError is a failure of the client's own state (Client.StateDir),
// not of a tree: it ends a Fetch at once, since every tree would meet it.
type StateError struct {
	Path string // the state file
	Err  error
}

func (e *StateError) Error() string { return fmt.Sprintf("state %s: %v", e.Path, e.Err) }

func (e *StateError) Unwrap() error { return e.Err }

// readSeen reads and verifies the checkpoint kept in name. A file that
// does not open with v is an error: the state was damaged or written by
// someone else, and deciding what to trust is the user's.
func readSeen(name string, v note.Verifier) (checkpoint.Checkpoint, error) {
	signed, err := os.ReadFile(name)
	if err != nil {
		return checkpoint.Checkpoint{}, err
	}
	cp, err := checkpoint.Open(signed, v)
	if err != nil {
		return cp, fmt.Errorf("the checkpoint kept there does not verify with %s (remove the file to trust the next one seen): %w", v.Name(), err)
	}
	return cp, nil
}

func writeSeen(name string, signed []byte) error {
	if err := safefile.WriteFile(name, signed, 0o644); err != nil {
		return &StateError{Path: name, Err: err}
	}
	return nil
}
