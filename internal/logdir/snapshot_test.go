package logdir

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/journal"
)

// sameState fails the test unless got and want hold the same entries.
func sameState(t *testing.T, got, want *Log) {
	t.Helper()
	sameLog(t, got, want)
	for _, p := range want.State.Paths() {
		g, _ := got.State.Lookup(p)
		w, _ := want.State.Lookup(p)
		if *g != *w {
			t.Fatalf("entry %s: %+v, want %+v", p, *g, *w)
		}
		if got.State.IsDir(p) != want.State.IsDir(p) {
			t.Fatalf("%s: IsDir differs", p)
		}
	}
	if got.State.IsDir("pool") != want.State.IsDir("pool") || got.State.IsDir("links") != want.State.IsDir("links") {
		t.Fatal("directories differ")
	}
}

// loadSame loads root with Load, checks that a full replay gives the same
// log, and returns Load's.
func loadSame(t *testing.T, root string, v note.Verifier) *Log {
	t.Helper()
	got, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	want, err := LoadFull(root, v)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, got, want)
	return got
}

// TestSnapshot: whatever the snapshot holds, Load gives what a full replay
// gives, and uses the snapshot only when it is sound.
func TestSnapshot(t *testing.T) {
	s, v := newKey(t)
	root := t.TempDir()
	l1 := publish(t, root, s, 300)
	good, err := os.ReadFile(native(root, SnapshotPath))
	if err != nil {
		t.Fatalf("Commit saved no snapshot: %v", err)
	}
	l2, signed := extend(t, l1, recordLines(t, 300, 600), s, 1700002000)
	if err := Commit(root, l1, l2, signed); err != nil {
		t.Fatal(err)
	}
	atL2, err := os.ReadFile(native(root, SnapshotPath))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(atL2)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name     string
		snapshot []byte // nil: none
		from     int64  // the record count Load should start from
	}{
		{"current", atL2, 600},
		{"stale", good, 300},
		{"missing", nil, 0},
		{"bit flipped", flipped, 0},
		{"truncated", atL2[:len(atL2)-40], 0},
		{"empty", []byte{}, 0},
		{"header only", []byte(snapshotMagic), 0},
		{"a later version", []byte("pando snapshot v3\n" + string(atL2[len(snapshotMagic):])), 0},
		{"an earlier version", []byte("pando snapshot v1\n" + string(atL2[len(snapshotMagic):])), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := native(root, SnapshotPath)
			if tt.snapshot == nil {
				os.Remove(name)
			} else {
				writeFile(t, name, tt.snapshot)
			}
			got := loadSame(t, root, v)
			if got.snapshot != tt.from {
				t.Errorf("Load started from a snapshot of %d records, want %d", got.snapshot, tt.from)
			}
		})
	}
}

// TestSnapshotOfAnotherJournal: a snapshot whose journal is not the one on
// disk (the journal was replaced, or the snapshot comes from another tree)
// is not used, even when it is internally sound.
func TestSnapshotOfAnotherJournal(t *testing.T) {
	s, v := newKey(t)
	root, other := t.TempDir(), t.TempDir()
	publish(t, root, s, 300)
	// Another log of the same size: records 1..300 instead of 0..299.
	l, signed := extend(t, Empty(origin), recordLines(t, 1, 301), s, 1700001000)
	if err := Commit(other, Empty(origin), l, signed); err != nil {
		t.Fatal(err)
	}
	snap, err := os.ReadFile(native(other, SnapshotPath))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, native(root, SnapshotPath), snap)
	if got := loadSame(t, root, v); got.snapshot != 0 {
		t.Error("used the snapshot of another journal")
	}
}

// TestSnapshotNotRewritten: a commit that adds no records (a re-signed
// checkpoint), or few, keeps the snapshot it loaded from, and Load replays
// the records after it.
func TestSnapshotNotRewritten(t *testing.T) {
	s, v := newKey(t)
	root := t.TempDir()
	publish(t, root, s, 300)
	name := native(root, SnapshotPath)
	before, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	for i, more := range []int{0, 10, 20} {
		l, err := Load(root, v)
		if err != nil {
			t.Fatal(err)
		}
		next, signed := extend(t, l, recordLines(t, int(l.N()), int(l.N())+more), s, 1700009000+int64(i))
		if err := Commit(root, l, next, signed); err != nil {
			t.Fatal(err)
		}
		after, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(before, after) {
			t.Fatalf("the snapshot was rewritten for a commit of %d records", more)
		}
	}
	got := loadSame(t, root, v)
	if got.snapshot != 300 || got.N() != 330 {
		t.Errorf("Load of %d records started from %d, want 330 from 300", got.N(), got.snapshot)
	}
}

func TestDecodeSnapshotRoundTrip(t *testing.T) {
	s, _ := newKey(t)
	l, _ := extend(t, Empty(origin), recordLines(t, 0, 100), s, 1700001000)
	data := encodeSnapshot(l)
	snap, err := decodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if snap.n != 100 || snap.journalLen != int64(len(l.Journal)) || snap.root != l.Checkpoint.Hash || len(snap.entries) != l.State.Len() {
		t.Fatalf("decoded %d records, %d journal bytes, %d entries", snap.n, snap.journalLen, len(snap.entries))
	}
	for _, e := range snap.entries {
		if w, ok := l.State.Lookup(e.Path); !ok || *w != e {
			t.Fatalf("entry %+v, want %+v", e, w)
		}
	}
	if !bytes.Equal(encodeSnapshot(l), data) {
		t.Error("two encodings of one log differ")
	}
}

// FuzzDecodeSnapshot: no input makes the decoder panic or allocate beyond
// its input. The fuzzer's bytes are the snapshot without its checksum, which
// is appended, so that it exercises the parser behind the checksum.
func FuzzDecodeSnapshot(f *testing.F) {
	s, _ := newKey(f)
	for _, n := range []int{1, 3, 20} {
		l, _ := extend(f, Empty(origin), recordLines(f, 0, n), s, 1700001000)
		data := encodeSnapshot(l)
		f.Add(data[:len(data)-crc32.Size])
	}
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, body []byte) {
		data := binary.BigEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli))
		snap, err := decodeSnapshot(data)
		if err != nil {
			return
		}
		if int64(len(snap.entries)) > snap.n || len(snap.hashes)*32 > len(data) {
			t.Fatalf("accepted %d entries of %d records, %d hashes", len(snap.entries), snap.n, len(snap.hashes))
		}
		// What Load does next with the entries: a state rebuilt from them
		// holds each of them, or is refused.
		if st, err := journal.Rebuild(snap.n, snap.entries); err == nil && st.Len() != len(snap.entries) {
			t.Fatalf("rebuilt a state of %d paths from %d entries", st.Len(), len(snap.entries))
		}
	})
}

// BenchmarkLoad compares a Load from a snapshot with a full replay, on a
// log of the size of a large repository.
func BenchmarkLoad(b *testing.B) {
	s, v := newKey(b)
	root := b.TempDir()
	l, signed := extend(b, Empty(origin), recordLines(b, 0, 100000), s, 1700001000)
	if err := Commit(root, Empty(origin), l, signed); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		load func(string, note.Verifier) (*Log, error)
	}{{"snapshot", Load}, {"full", LoadFull}} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := mode.load(root, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExtend extends an empty log by the records of a large
// repository, as a mirror's first sync does.
func BenchmarkExtend(b *testing.B) {
	lines := recordLines(b, 0, 75000)
	for b.Loop() {
		if _, _, err := Empty(origin).Extend(lines); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMapReadOnly: the mapping holds the file's bytes, and a file too
// large, a directory and a missing file are refused with their name.
func TestMapReadOnly(t *testing.T) {
	dir := t.TempDir()
	name := native(dir, "f")
	writeFile(t, name, []byte("snapshot bytes"))
	b, unmap, err := mapReadOnly(name, 100)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "snapshot bytes" {
		t.Errorf("mapped %q", b)
	}
	unmap()
	empty := native(dir, "empty")
	writeFile(t, empty, nil)
	if b, unmap, err := mapReadOnly(empty, 100); err != nil || len(b) != 0 {
		t.Errorf("empty file: %q, %v", b, err)
	} else {
		unmap()
	}
	for _, bad := range []struct {
		name  string
		limit int64
	}{{name, 5}, {dir, 100}, {native(dir, "missing"), 100}} {
		if _, _, err := mapReadOnly(bad.name, bad.limit); err == nil || !strings.Contains(err.Error(), bad.name) {
			t.Errorf("mapReadOnly(%s, %d): %v, want an error naming the file", bad.name, bad.limit, err)
		}
	}
}

// TestSnapshotCutShortWhileMapped: a snapshot file cut short after it was
// mapped (reading its pages faults) is refused like a damaged one, and Load
// replays the journal instead of the process dying.
func TestSnapshotCutShortWhileMapped(t *testing.T) {
	s, v := newKey(t)
	root := t.TempDir()
	publish(t, root, s, 300)
	name := native(root, SnapshotPath)
	testHookMapped = func() {
		if err := os.Truncate(name, 0); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookMapped = nil }()
	if _, err := readSnapshot(name); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("readSnapshot of a file cut short while mapped: %v, want an error naming it", err)
	}
	publish(t, root, s, 300) // a whole snapshot again, cut short once Load maps it
	if _, err := os.Stat(name); err != nil {
		t.Fatal(err)
	}
	if got := loadSame(t, root, v); got.snapshot != 0 {
		t.Errorf("Load started from a snapshot of %d records that could not be read, want a full replay", got.snapshot)
	}
}
