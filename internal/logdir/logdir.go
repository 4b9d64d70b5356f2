// Package logdir owns the .pando directory at the root of a published tree:
// the served files of the signed log (checkpoint, journal, tiles) and the
// tree's local, never-served state below .pando/local (locks, staging,
// caches, intents).
//
// A Log is the in-memory form of a verified log: the checkpoint, the journal
// bytes it covers, the replayed state and the tlog stored hashes. Load builds
// one from disk and refuses a journal that does not reproduce the signed
// root; Extend appends records; Commit writes a longer log to disk so that a
// crash at any point leaves the old checkpoint, and so the old log, intact.
// After a commit the replayed log is cached in a local snapshot, so that the
// next Load replays only the records after it (LoadFull never uses it).
package logdir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sys/unix"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/safefile"
)

// Paths of the served log, relative to the tree's root, slash-separated.
const (
	Dir            = journal.MetaDir
	CheckpointPath = Dir + "/checkpoint"
	JournalPath    = Dir + "/journal"
	TilePrefix     = Dir + "/" // + tlog.Tile.Path(), e.g. ".pando/tile/8/0/000"
	LocalDir       = Dir + "/local"
)

// TileHeight is the height of the tlog tiles written under .pando/tile.
const TileHeight = 8

// ErrNoLog means the tree has no checkpoint: it was never published or synced.
var ErrNoLog = errors.New("no signed log")

// A Log is a verified signed log held in memory.
type Log struct {
	Checkpoint checkpoint.Checkpoint
	Signed     []byte         // the checkpoint note as signed
	Journal    []byte         // exactly Checkpoint.N record lines
	State      *journal.State // the live tree the journal describes
	Hashes     []tlog.Hash    // tlog stored hashes for the N records

	// snapshot is the record count of the snapshot Load started from (0:
	// none), so that Commit need not rewrite an unchanged one.
	snapshot int64
}

// Empty returns the log of a tree with no records for origin.
func Empty(origin string) *Log {
	return &Log{Checkpoint: checkpoint.Checkpoint{Origin: origin}, State: journal.NewState()}
}

// N returns the number of records.
func (l *Log) N() int64 { return l.State.N }

// HashReader reads the log's stored hashes.
func (l *Log) HashReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			if x < 0 || x >= int64(len(l.Hashes)) {
				return nil, fmt.Errorf("stored hash %d not in a log of %d records", x, l.N())
			}
			out[i] = l.Hashes[x]
		}
		return out, nil
	})
}

// TreeHash returns the Merkle root over the log's records.
func (l *Log) TreeHash() (tlog.Hash, error) {
	if l.N() == 0 {
		return tlog.Hash{}, nil
	}
	return tlog.TreeHash(l.N(), l.HashReader())
}

// Extend returns a new log holding l's records followed by lines (each without
// its newline). l is unchanged. The result has no checkpoint of its own yet:
// its Checkpoint is l's with N and Hash updated.
func (l *Log) Extend(lines [][]byte) (*Log, []journal.Record, error) {
	next := &Log{Checkpoint: l.Checkpoint, State: l.State.Clone()}
	size := len(l.Journal)
	for _, line := range lines {
		size += len(line) + 1
	}
	next.Journal = make([]byte, 0, size)
	next.Journal = append(next.Journal, l.Journal...)
	for _, line := range lines {
		next.Journal = append(append(next.Journal, line...), '\n')
	}
	next.Hashes = make([]tlog.Hash, len(l.Hashes), tlog.StoredHashCount(l.N()+int64(len(lines))))
	copy(next.Hashes, l.Hashes)
	recs, err := next.extendState(lines)
	if err != nil {
		return nil, nil, err
	}
	return next, recs, nil
}

// extendOwned extends l itself by the record lines of data that follow
// l.Journal, a prefix of data: for a log that nobody else holds (one Load
// built from a snapshot), so that neither its state nor its journal is
// copied. On an error l is left in an unknown state.
func (l *Log) extendOwned(data []byte, lines [][]byte) error {
	size := len(l.Journal)
	for _, line := range lines {
		size += len(line) + 1
	}
	if size > len(data) {
		return errors.New("records past the journal's end")
	}
	l.Journal = data[:size:size]
	l.Hashes = slices.Grow(l.Hashes, max(0, int(tlog.StoredHashCount(l.N()+int64(len(lines))))-len(l.Hashes)))
	_, err := l.extendState(lines)
	return err
}

// extendState applies lines to l.State and appends their stored hashes to
// l.Hashes (whose journal already holds them), then sets the checkpoint's
// count and root.
func (l *Log) extendState(lines [][]byte) ([]journal.Record, error) {
	first := l.N()
	// The tree's hashes depend on the lines alone: they are computed while
	// the records are parsed and applied.
	hashed := make(chan error, 1)
	go func() {
		hr := l.HashReader()
		for i, line := range lines {
			hs, err := tlog.StoredHashes(first+int64(i), line, hr)
			if err != nil {
				hashed <- err
				return
			}
			l.Hashes = append(l.Hashes, hs...)
		}
		hashed <- nil
	}()
	recs, err := l.State.ApplyLines(lines)
	if herr := <-hashed; err == nil {
		err = herr
	}
	if err != nil {
		return nil, err
	}
	l.Checkpoint.N = l.N()
	if l.Checkpoint.Hash, err = l.TreeHash(); err != nil {
		return nil, err
	}
	return recs, nil
}

// ReadCheckpoint reads and verifies the checkpoint of the tree at root.
// It returns an error wrapping ErrNoLog if there is none.
func ReadCheckpoint(root string, v note.Verifier) (checkpoint.Checkpoint, []byte, error) {
	name := filepath.Join(root, filepath.FromSlash(CheckpointPath))
	signed, err := readLimited(name, checkpoint.MaxNoteSize)
	if errors.Is(err, fs.ErrNotExist) {
		return checkpoint.Checkpoint{}, nil, fmt.Errorf("%s: %w", name, ErrNoLog)
	}
	if err != nil {
		return checkpoint.Checkpoint{}, nil, err
	}
	c, err := checkpoint.Open(signed, v)
	if err != nil {
		return c, nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, signed, nil
}

// Load reads the signed log of the tree at root, verifies the checkpoint with
// v and checks that the journal reproduces its root. Journal bytes beyond the
// checkpoint's records (left by an interrupted commit) are ignored.
//
// Load replays only the records after those of the tree's snapshot (see
// SnapshotPath) when there is one that matches the journal; a snapshot that
// is missing, stale, damaged or does not lead to the signed root is ignored,
// and the whole journal is replayed. Either way the result is the same.
func Load(root string, v note.Verifier) (*Log, error) {
	return load(root, v, true)
}

// LoadFull is Load without the snapshot: it always replays the whole
// journal, for a check that must not rely on any local cache.
func LoadFull(root string, v note.Verifier) (*Log, error) {
	return load(root, v, false)
}

func load(root string, v note.Verifier, useSnapshot bool) (*Log, error) {
	c, signed, err := ReadCheckpoint(root, v)
	if err != nil {
		return nil, err
	}
	name := filepath.Join(root, filepath.FromSlash(JournalPath))
	data, err := os.ReadFile(name)
	if err != nil && !(errors.Is(err, fs.ErrNotExist) && c.N == 0) {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if useSnapshot {
		if l := fromSnapshot(root, c.Origin, data, c.N); l != nil && extendOwnedTo(l, data, c) == nil {
			l.Checkpoint, l.Signed = c, signed
			return l, nil
		}
	}
	l := Empty(c.Origin)
	if err := extendOwnedTo(l, data, c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l.Checkpoint, l.Signed = c, signed
	return l, nil
}

// extendOwnedTo extends l, which nobody else holds, by the records of data
// after its own, up to c's count, and checks that it reproduces c's root.
func extendOwnedTo(l *Log, data []byte, c checkpoint.Checkpoint) error {
	if c.N > l.N() {
		lines, err := journal.Lines(data[len(l.Journal):], l.N(), c.N-l.N())
		if err != nil {
			return err
		}
		if err := l.extendOwned(data, lines); err != nil {
			return err
		}
	}
	if l.Checkpoint.Hash != c.Hash {
		return fmt.Errorf("%d records do not reproduce the checkpoint's root", c.N)
	}
	return nil
}

// Commit writes next, an extension of old signed as signed, to the tree at
// root: it appends the new journal records, writes the tiles they complete
// and finally replaces the checkpoint, after which it saves next's snapshot
// for the next Load, unless the snapshot old was loaded from lags only a
// little behind. Until that last rename the tree's served state is old's; a
// crash before it leaves journal bytes and tiles that old's checkpoint does
// not cover, which Load ignores and the next Commit overwrites. The journal
// and every tile are fsynced before the checkpoint is written.
func Commit(root string, old, next *Log, signed []byte) error {
	return commit(root, old, next, signed, false)
}

// CommitSyncFS is Commit with one syncfs(2) of the tree's file system, just
// before the checkpoint is written, in place of an fsync of the journal and
// of each tile. The syncfs also makes durable everything else written to that
// file system before, so a caller that wrote many files (a sync moving them
// into place) has them durable before the checkpoint that names them.
func CommitSyncFS(root string, old, next *Log, signed []byte) error {
	return commit(root, old, next, signed, true)
}

func commit(root string, old, next *Log, signed []byte, syncFS bool) error {
	if !bytes.HasPrefix(next.Journal, old.Journal) {
		return errors.New("commit: new journal does not extend the old one")
	}
	if err := appendJournal(root, old, next, !syncFS); err != nil {
		return err
	}
	if err := writeTiles(root, old, next, !syncFS); err != nil {
		return err
	}
	name := filepath.Join(root, filepath.FromSlash(CheckpointPath))
	if syncFS {
		// The checkpoint's bytes are written first and made durable by the
		// same syncfs; only its rename, and that rename's sync, follow.
		cp, err := safefile.Stage(name, signed, 0o644)
		if err != nil {
			return err
		}
		if err := safefile.SyncFS(root); err != nil {
			cp.Discard()
			return err
		}
		if err := cp.Replace(); err != nil {
			return err
		}
	} else if err := safefile.WriteFile(name, signed, 0o644); err != nil {
		return err
	}
	next.snapshot = old.snapshot
	if next.N()-old.snapshot > snapshotLag(next.N()) {
		// A cache: if it cannot be saved, the next Load replays more.
		if saveSnapshot(root, next) == nil {
			next.snapshot = next.N()
		}
	}
	return nil
}

// writeTiles writes the tiles next completes beyond old, each atomically,
// and with sync durable: bytes and names.
func writeTiles(root string, old, next *Log, sync bool) error {
	hr := next.HashReader()
	top := filepath.Clean(root)
	dirs := map[string]bool{top: true} // which holds .pando, new on a first publish
	for _, t := range tlog.NewTiles(TileHeight, old.N(), next.N()) {
		data, err := tlog.ReadTileData(t, hr)
		if err != nil {
			return err
		}
		name := filepath.Join(root, filepath.FromSlash(TilePrefix+t.Path()))
		write := safefile.WriteFileUnsynced
		if sync {
			write = safefile.WriteFileNoDirSync
		}
		if err := write(name, data, 0o644); err != nil {
			return err
		}
		// The tile's directory and those above it up to the root, which
		// this write may have made: a new directory's name is durable only
		// once its parent is synced.
		for d := filepath.Dir(name); !dirs[d] && d != top; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	if !sync {
		return nil
	}
	for d := range dirs { // the tiles' names durable before the checkpoint that covers them
		if err := safefile.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// snapshotLag is how many records of n a snapshot may lag behind before
// Commit writes a new one: replaying that many costs less than rewriting
// a snapshot of n records on every commit.
func snapshotLag(n int64) int64 { return max(n/16, 256) }

// appendJournal makes the journal file hold exactly next.Journal, writing only
// the bytes after old's records, and with sync fsyncs it. Bytes past old's
// records are dropped first.
func appendJournal(root string, old, next *Log, sync bool) error {
	name := filepath.Join(root, filepath.FromSlash(JournalPath))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(int64(len(old.Journal))); err != nil {
		return err
	}
	if _, err := f.WriteAt(next.Journal[len(old.Journal):], int64(len(old.Journal))); err != nil {
		return err
	}
	if sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return f.Close()
}

// mapReadOnly maps the regular file name, of at most limit bytes, into
// memory for reading, and returns its bytes and the function that unmaps
// them; nothing may use the bytes after that. For a large file read once
// and parsed into other memory (the snapshot), a mapping of the pages the
// page cache already holds costs far less than reading them into fresh
// heap memory, every page of which would first be faulted in and zeroed.
// The file must not shrink while mapped; the files mapped are replaced by
// rename, never truncated.
func mapReadOnly(name string, limit int64) ([]byte, func(), error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, nil, fmt.Errorf("%s: not a regular file", name)
	case fi.Size() > limit:
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	case fi.Size() == 0:
		return nil, func() {}, nil // mmap refuses a length of 0
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, &os.PathError{Op: "mmap", Path: name, Err: err}
	}
	return b, func() { unix.Munmap(b) }, nil
}

func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= limit {
		buf.Grow(int(fi.Size()) + bytes.MinRead) // one read, not a growing buffer
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, nil
}
