package logdir

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"path/filepath"
	"runtime/debug"
	"slices"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/safefile"
)

// SnapshotPath is the local cache of a replayed log: what Load would rebuild
// from the first records of the journal, so that it need only replay the
// records after them.
const SnapshotPath = LocalDir + "/snapshot"

// The snapshot format (private to this package, never served):
//
//	"pando snapshot v2\n"
//	uvarint records N, uvarint journal length L
//	32 bytes: SHA-256 of the journal's first L bytes (its N records)
//	32 bytes: the tree hash over the N records
//	uvarint count, then count 32-byte tlog stored hashes (count must be
//	  tlog.StoredHashCount(N))
//	uvarint count, then count live entries in increasing order of the
//	  index of the record that set them, each: uvarint index, one kind
//	  byte, uvarint time, string path, then for a file uvarint size,
//	  uvarint mtime and 32 bytes of SHA-256, for a symlink uvarint mtime
//	  and string target (a string is a uvarint length and its bytes)
//	4 bytes: CRC-32C (Castagnoli) of everything before, big-endian
//
// The checksum guards against damage (a torn write, a bad disk), not
// against an adversary: the snapshot is this machine's own record, and
// CRC-32C costs a fraction of a hash over a file of megabytes. (v1 ended in
// a SHA-256; a v1 snapshot is refused like a damaged one, and replaced.)
//
// A snapshot is trusted only when its checksum holds, its journal hash
// matches the journal on disk and its hashes reproduce its tree hash; Load
// then still checks the whole log against the signed checkpoint.
const snapshotMagic = "pando snapshot v2\n"

// maxSnapshot bounds the bytes Load reads for a snapshot.
const maxSnapshot = maxLocalFile

// minEntrySize is the fewest bytes an encoded entry takes.
const minEntrySize = 6

// A snapshot is the decoded form of the snapshot file.
type snapshot struct {
	n          int64
	journalLen int64
	journalSum [32]byte
	root       tlog.Hash
	hashes     []tlog.Hash
	entries    []journal.Entry
}

// encodeSnapshot returns the snapshot of l.
func encodeSnapshot(l *Log) []byte {
	b := make([]byte, 0, 64+len(l.Hashes)*32+l.State.Len()*128)
	b = append(b, snapshotMagic...)
	b = binary.AppendUvarint(b, uint64(l.N()))
	b = binary.AppendUvarint(b, uint64(len(l.Journal)))
	sum := sha256.Sum256(l.Journal)
	b = append(b, sum[:]...)
	b = append(b, l.Checkpoint.Hash[:]...)
	b = binary.AppendUvarint(b, uint64(len(l.Hashes)))
	for _, h := range l.Hashes {
		b = append(b, h[:]...)
	}
	entries := slices.SortedFunc(l.State.Entries(), func(x, y *journal.Entry) int { return cmp.Compare(x.Index, y.Index) })
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = appendEntry(b, e)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// castagnoli is the CRC-32C table of the snapshot's checksum.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendEntry(b []byte, e *journal.Entry) []byte {
	b = binary.AppendUvarint(b, uint64(e.Index))
	b = append(b, byte(e.Kind))
	b = binary.AppendUvarint(b, uint64(e.Time))
	b = appendString(b, e.Path)
	if e.Kind == journal.File {
		b = binary.AppendUvarint(b, uint64(e.Size))
		b = binary.AppendUvarint(b, uint64(e.MTime))
		return append(b, e.SHA256[:]...)
	}
	b = binary.AppendUvarint(b, uint64(e.MTime))
	return appendString(b, e.Target)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeSnapshot parses a snapshot file, refusing anything its encoder would
// not have written: a bad checksum, a count out of range, trailing bytes.
func decodeSnapshot(data []byte) (*snapshot, error) {
	if len(data) < len(snapshotMagic)+crc32.Size || !bytes.HasPrefix(data, []byte(snapshotMagic)) {
		return nil, errors.New("not a v2 snapshot")
	}
	body, sum := data[:len(data)-crc32.Size], data[len(data)-crc32.Size:]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(sum) {
		return nil, errors.New("checksum mismatch")
	}
	r := &snapReader{b: body[len(snapshotMagic):]}
	s := &snapshot{n: r.int(journal.MaxRecords)}
	s.journalLen = r.int(s.n * journal.MaxLineLen)
	copy(s.journalSum[:], r.bytes(32))
	copy(s.root[:], r.bytes(32))
	// Counts are checked against the bytes left before anything is
	// allocated for them.
	if nh := r.int(math.MaxInt64); r.err == nil && (nh != tlog.StoredHashCount(s.n) || nh > int64(len(r.b)/32)) {
		r.fail("stored hash count")
	}
	if r.err == nil {
		s.hashes = make([]tlog.Hash, tlog.StoredHashCount(s.n))
	}
	for i := range s.hashes {
		copy(s.hashes[i][:], r.bytes(32))
	}
	count := r.int(s.n)
	if count > int64(len(r.b)/minEntrySize) {
		r.fail("entry count")
	}
	if r.err == nil {
		s.entries = make([]journal.Entry, count)
		r.text = string(r.b)
	}
	for i := range s.entries {
		s.entries[i] = r.entry(s.n)
		if i > 0 && s.entries[i].Index <= s.entries[i-1].Index {
			r.fail("entries out of order")
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("trailing bytes")
	}
	return s, r.err
}

// A snapReader reads a snapshot's fields; the first error sticks.
type snapReader struct {
	b []byte
	// text, when set, holds the bytes b ends with, so that strings are
	// slices of one allocation rather than one allocation each.
	text string
	err  error
}

func (r *snapReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("malformed snapshot: %s", what)
	}
	r.b = nil
}

// int reads a uvarint of at most max.
func (r *snapReader) int(max int64) int64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(max) {
		r.fail("number out of range")
		return 0
	}
	r.b = r.b[n:]
	return int64(v)
}

func (r *snapReader) bytes(n int) []byte {
	if len(r.b) < n {
		r.fail("truncated")
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *snapReader) string() string {
	n := int(r.int(journal.MaxPathLen))
	off := len(r.text) - len(r.b)
	b := r.bytes(n)
	if r.err != nil || off < 0 {
		return string(b)
	}
	return r.text[off : off+n]
}

func (r *snapReader) entry(n int64) journal.Entry {
	var e journal.Entry
	e.Index = r.int(n - 1)
	e.Kind = journal.Kind(r.bytes(1)[0])
	e.Time = r.int(math.MaxInt64)
	e.Path = r.string()
	switch e.Kind {
	case journal.File:
		e.Size = r.int(math.MaxInt64)
		e.MTime = r.int(math.MaxInt64)
		copy(e.SHA256[:], r.bytes(32))
	case journal.Symlink:
		e.MTime = r.int(math.MaxInt64)
		e.Target = r.string()
	default:
		r.fail("record kind")
	}
	return e
}

// fromSnapshot returns the log the tree's snapshot describes, if there is
// one that holds and covers a prefix of data, the journal on disk, of at
// most n records; otherwise nil.
func fromSnapshot(root, origin string, data []byte, n int64) *Log {
	s, err := readSnapshot(filepath.Join(root, filepath.FromSlash(SnapshotPath)))
	if err != nil || s.n > n || s.n == 0 || s.journalLen > int64(len(data)) {
		return nil
	}
	prefix := data[:s.journalLen]
	summed := make(chan [32]byte, 1) // hashing the journal overlaps the rebuild
	go func() { summed <- sha256.Sum256(prefix) }()
	state, err := journal.Rebuild(s.n, s.entries)
	if <-summed != s.journalSum || (len(prefix) > 0 && prefix[len(prefix)-1] != '\n') || err != nil {
		return nil
	}
	l := Empty(origin)
	l.Journal, l.State, l.Hashes, l.snapshot = prefix, state, s.hashes, s.n
	l.Checkpoint.N = s.n
	if h, err := l.TreeHash(); err != nil || h != s.root {
		return nil
	}
	l.Checkpoint.Hash = s.root
	return l
}

// readSnapshot maps the snapshot file and decodes it. A page of the mapping
// that cannot be read (a disk error, or a file cut short by another
// program) would be a fault that ends the process; here it is an error, and
// Load replays the journal instead, as for any snapshot it cannot use.
func readSnapshot(name string) (s *snapshot, err error) {
	raw, unmap, err := mapReadOnly(name, maxSnapshot)
	if err != nil {
		return nil, err
	}
	defer unmap()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if _, fault := r.(interface{ Addr() uintptr }); r != nil && !fault {
			panic(r) // not the mapping's doing
		}
		if r != nil {
			s, err = nil, fmt.Errorf("%s: reading the mapped file: %v", name, r)
		}
	}()
	if testHookMapped != nil {
		testHookMapped()
	}
	return decodeSnapshot(raw) // copies what it keeps
}

// testHookMapped, if set, runs between the mapping of a snapshot and its
// decoding (a test cuts the file short there).
var testHookMapped func()

// saveSnapshot writes l's snapshot, atomically but not durably: a crash may
// leave the previous one or a damaged one, which Load detects and ignores.
func saveSnapshot(root string, l *Log) error {
	name := filepath.Join(root, filepath.FromSlash(SnapshotPath))
	return safefile.WriteFileUnsynced(name, encodeSnapshot(l), 0o644)
}
