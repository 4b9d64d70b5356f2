package logdir

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"

	"github.com/pando-mirror/pando/internal/keytest"
)

const origin = "repo.example.org"

func newKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	return keytest.New(t, origin)
}

// recordLines returns the lines of records [from, to) of a test journal:
// files, symlinks to them, and removals of files added just before.
func recordLines(t testing.TB, from, to int) [][]byte {
	t.Helper()
	var lines [][]byte
	for i := from; i < to; i++ {
		r := journal.Record{Time: 1700000000 + int64(i), MTime: 1600000000 + int64(i)}
		switch i % 5 {
		case 2:
			r.Kind, r.Path, r.Target = journal.Symlink, fmt.Sprintf("links/%d", i), fmt.Sprintf("../pool/f %d.jar", i-1)
		case 4:
			r.Kind, r.Path = journal.Remove, fmt.Sprintf("pool/f %d.jar", i-1)
		default:
			r.Kind, r.Path, r.Size = journal.File, fmt.Sprintf("pool/f %d.jar", i), int64(i)
			r.SHA256 = sha256.Sum256([]byte(r.Path))
		}
		b, err := journal.AppendLine(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, bytes.TrimSuffix(b, []byte("\n")))
	}
	return lines
}

// extend extends l by lines and signs the result at time sec.
func extend(t testing.TB, l *Log, lines [][]byte, s note.Signer, sec int64) (*Log, []byte) {
	t.Helper()
	next, _, err := l.Extend(lines)
	if err != nil {
		t.Fatal(err)
	}
	next.Checkpoint.Time = time.Unix(sec, 0).UTC()
	signed, err := checkpoint.Sign(next.Checkpoint, s)
	if err != nil {
		t.Fatal(err)
	}
	next.Signed = signed
	return next, signed
}

// publish commits a new log of n test records to root.
func publish(t testing.TB, root string, s note.Signer, n int) *Log {
	t.Helper()
	l, signed := extend(t, Empty(origin), recordLines(t, 0, n), s, 1700001000)
	if err := Commit(root, Empty(origin), l, signed); err != nil {
		t.Fatal(err)
	}
	return l
}

func native(root, slashPath string) string {
	return filepath.Join(root, filepath.FromSlash(slashPath))
}

// tileFiles lists the files below .pando/tile, slash-separated from .pando.
func tileFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	dir := native(root, Dir)
	err := filepath.WalkDir(native(root, Dir+"/tile"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// sameLog fails the test unless got holds the same log as want.
func sameLog(t *testing.T, got, want *Log) {
	t.Helper()
	gc, wc := got.Checkpoint, want.Checkpoint
	if gc.Origin != wc.Origin || gc.N != wc.N || gc.Hash != wc.Hash || !gc.Time.Equal(wc.Time) {
		t.Fatalf("checkpoint %+v, want %+v", gc, wc)
	}
	if got.N() != want.N() || !bytes.Equal(got.Journal, want.Journal) || !bytes.Equal(got.Signed, want.Signed) {
		t.Fatalf("log of %d records and %d journal bytes, want %d and %d", got.N(), len(got.Journal), want.N(), len(want.Journal))
	}
	if !slices.Equal(got.Hashes, want.Hashes) || !slices.Equal(got.State.Paths(), want.State.Paths()) {
		t.Fatal("stored hashes or live paths differ")
	}
}

func TestExtend(t *testing.T) {
	l0 := Empty(origin)
	if h, err := l0.TreeHash(); err != nil || h != (tlog.Hash{}) || l0.N() != 0 {
		t.Fatalf("empty log: N %d, TreeHash %v, %v", l0.N(), h, err)
	}
	lines := recordLines(t, 0, 10)
	l1, recs, err := l0.Extend(lines)
	if err != nil {
		t.Fatal(err)
	}
	if l0.N() != 0 || len(l0.Journal) != 0 || len(l0.Hashes) != 0 {
		t.Fatal("Extend changed the log it extends")
	}
	if len(recs) != 10 || l1.N() != 10 || l1.Checkpoint.N != 10 || l1.Checkpoint.Origin != origin {
		t.Fatalf("Extend: %d records, N %d, checkpoint %+v", len(recs), l1.N(), l1.Checkpoint)
	}
	if want := append(bytes.Join(lines, []byte("\n")), '\n'); !bytes.Equal(l1.Journal, want) {
		t.Fatalf("journal\n%s\nwant\n%s", l1.Journal, want)
	}
	if int64(len(l1.Hashes)) != tlog.StoredHashCount(10) {
		t.Fatalf("%d stored hashes, want %d", len(l1.Hashes), tlog.StoredHashCount(10))
	}
	// The root is tlog's over the record lines without their newlines.
	var leaves []tlog.Hash
	for _, l := range lines {
		leaves = append(leaves, tlog.RecordHash(l))
	}
	if want := merkleRoot(leaves); l1.Checkpoint.Hash != want {
		t.Fatalf("root %v, want %v", l1.Checkpoint.Hash, want)
	}

	l2, _, err := l1.Extend(recordLines(t, 10, 20))
	if err != nil {
		t.Fatal(err)
	}
	if l1.N() != 10 || !bytes.Equal(l2.Journal[:len(l1.Journal)], l1.Journal) || !slices.Equal(l2.Hashes[:len(l1.Hashes)], l1.Hashes) {
		t.Fatal("second Extend does not extend the first")
	}
	all, _, err := l0.Extend(recordLines(t, 0, 20))
	if err != nil {
		t.Fatal(err)
	}
	if all.Checkpoint.Hash != l2.Checkpoint.Hash || !slices.Equal(all.Hashes, l2.Hashes) {
		t.Fatal("extending in two steps and in one give different logs")
	}

	live, size := l2.State.Paths(), len(l2.Journal)
	bad := append(recordLines(t, 20, 22), []byte("remove 1 nowhere"))
	_, _, err = l2.Extend(bad)
	if want := `record 22: remove "nowhere": path is not live`; err == nil || err.Error() != want {
		t.Fatalf("Extend with a bad record: %v, want %q", err, want)
	}
	if l2.N() != 20 || len(l2.Journal) != size || !slices.Equal(l2.State.Paths(), live) {
		t.Fatalf("failed Extend changed the log: N %d, %d journal bytes", l2.N(), len(l2.Journal))
	}
}

// merkleRoot is RFC 6962's tree hash, written out independently of tlog's
// stored-hash bookkeeping.
func merkleRoot(leaves []tlog.Hash) tlog.Hash {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return tlog.NodeHash(merkleRoot(leaves[:k]), merkleRoot(leaves[k:]))
}

func TestCommitLoad(t *testing.T) {
	root := t.TempDir()
	s, v := newKey(t)
	l0 := Empty(origin)
	l1, signed1 := extend(t, l0, recordLines(t, 0, 100), s, 1700001000)
	if err := Commit(root, l0, l1, signed1); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(native(root, CheckpointPath)); !bytes.Equal(got, signed1) {
		t.Fatalf("checkpoint file holds\n%s\nwant\n%s", got, signed1)
	}
	if got, _ := os.ReadFile(native(root, JournalPath)); !bytes.Equal(got, l1.Journal) {
		t.Fatal("journal file differs from the log's journal")
	}
	if got, want := tileFiles(t, root), []string{"tile/8/0/000.p/100"}; !slices.Equal(got, want) {
		t.Fatalf("tiles %q, want %q", got, want)
	}
	checkTiles(t, root, l1, tlog.NewTiles(TileHeight, 0, 100))

	loaded, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, loaded, l1)

	// Commit again, from the loaded log: only the new bytes and tiles.
	l2, signed2 := extend(t, loaded, recordLines(t, 100, 300), s, 1700002000)
	if err := Commit(root, loaded, l2, signed2); err != nil {
		t.Fatal(err)
	}
	want := []string{"tile/8/0/000", "tile/8/0/000.p/100", "tile/8/0/001.p/44", "tile/8/1/000.p/1"}
	if got := tileFiles(t, root); !slices.Equal(got, want) {
		t.Fatalf("tiles %q, want %q", got, want)
	}
	checkTiles(t, root, l2, tlog.NewTiles(TileHeight, 100, 300))
	// The partial tile of the first commit is a prefix of the full one.
	full, _ := os.ReadFile(native(root, TilePrefix+"tile/8/0/000"))
	part, _ := os.ReadFile(native(root, TilePrefix+"tile/8/0/000.p/100"))
	if len(part) != 100*tlog.HashSize || !bytes.HasPrefix(full, part) {
		t.Fatal("partial tile 8/0/000.p/100 is not a prefix of tile 8/0/000")
	}
	loaded2, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, loaded2, l2)
	if loaded2.Checkpoint.N != 300 || !loaded2.Checkpoint.Time.Equal(time.Unix(1700002000, 0)) {
		t.Fatalf("loaded checkpoint %+v", loaded2.Checkpoint)
	}

	// A re-signed checkpoint with no new records writes no tiles.
	l3, signed3 := extend(t, loaded2, nil, s, 1700003000)
	if err := Commit(root, loaded2, l3, signed3); err != nil {
		t.Fatal(err)
	}
	if got := tileFiles(t, root); !slices.Equal(got, want) {
		t.Fatalf("tiles after a re-sign %q, want %q", got, want)
	}
	loaded3, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, loaded3, l3)
}

// checkTiles checks that each tile's file holds tlog.ReadTileData over l.
func checkTiles(t *testing.T, root string, l *Log, tiles []tlog.Tile) {
	t.Helper()
	for _, tile := range tiles {
		want, err := tlog.ReadTileData(tile, l.HashReader())
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(native(root, TilePrefix+tile.Path()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("tile %s holds %d bytes that differ from ReadTileData's %d", tile.Path(), len(got), len(want))
		}
	}
}

func TestCommitEmpty(t *testing.T) {
	root := t.TempDir()
	s, v := newKey(t)
	l, signed := extend(t, Empty(origin), nil, s, 1700000000)
	if err := Commit(root, Empty(origin), l, signed); err != nil {
		t.Fatal(err)
	}
	got, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, got, l)
	// A log of no records needs no journal file.
	if err := os.Remove(native(root, JournalPath)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(root, v); err != nil {
		t.Fatalf("Load of an empty log without a journal file: %v", err)
	}
}

func TestCommitRefusesNonExtension(t *testing.T) {
	root := t.TempDir()
	s, _ := newKey(t)
	old := publish(t, root, s, 10)
	other, signed := extend(t, Empty(origin), recordLines(t, 1, 12), s, 1700002000)
	err := Commit(root, old, other, signed)
	if want := "commit: new journal does not extend the old one"; err == nil || err.Error() != want {
		t.Fatalf("Commit error = %v, want %q", err, want)
	}
	if got, _ := os.ReadFile(native(root, CheckpointPath)); !bytes.Equal(got, old.Signed) {
		t.Fatal("refused Commit replaced the checkpoint")
	}
	if got, _ := os.ReadFile(native(root, JournalPath)); !bytes.Equal(got, old.Journal) {
		t.Fatal("refused Commit changed the journal")
	}
}

func TestLoadRefuses(t *testing.T) {
	s, v := newKey(t)
	other, _ := newKey(t) // same origin name, another key
	tests := []struct {
		name   string
		damage func(t *testing.T, root string, l *Log)
		err    func(root string) string
		check  func(t *testing.T, err error)
	}{
		{
			name: "journal line edited",
			damage: func(t *testing.T, root string, l *Log) {
				// Record 5 claims another size: still a valid record.
				edited := bytes.Replace(l.Journal, []byte("pool/f%205.jar 5 "), []byte("pool/f%205.jar 6 "), 1)
				if bytes.Equal(edited, l.Journal) {
					t.Fatal("edit did not apply")
				}
				writeFile(t, native(root, JournalPath), edited)
			},
			err: func(root string) string {
				return native(root, JournalPath) + ": 10 records do not reproduce the checkpoint's root"
			},
		},
		{
			name: "journal record reordered",
			damage: func(t *testing.T, root string, l *Log) {
				lines := bytes.SplitAfter(l.Journal, []byte("\n"))
				lines[0], lines[1] = lines[1], lines[0]
				writeFile(t, native(root, JournalPath), bytes.Join(lines, nil))
			},
			err: func(root string) string {
				return native(root, JournalPath) + ": 10 records do not reproduce the checkpoint's root"
			},
		},
		{
			name: "journal line made invalid",
			damage: func(t *testing.T, root string, l *Log) {
				writeFile(t, native(root, JournalPath), bytes.Replace(l.Journal, []byte("\nremove "), []byte("\nRemove "), 1))
			},
			err: func(root string) string {
				return native(root, JournalPath) + `: record 4: unknown record kind "Remove"`
			},
		},
		{
			name: "journal truncated",
			damage: func(t *testing.T, root string, l *Log) {
				writeFile(t, native(root, JournalPath), l.Journal[:len(l.Journal)-5])
			},
			err: func(root string) string {
				return native(root, JournalPath) + ": record 9: journal ends after 9 of 10 records"
			},
		},
		{
			name: "journal missing",
			damage: func(t *testing.T, root string, l *Log) {
				if err := os.Remove(native(root, JournalPath)); err != nil {
					t.Fatal(err)
				}
			},
			err: func(root string) string {
				return "journal: open " + native(root, JournalPath) + ": no such file or directory"
			},
		},
		{
			name: "checkpoint signed by another key",
			damage: func(t *testing.T, root string, l *Log) {
				signed, err := checkpoint.Sign(l.Checkpoint, other)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, native(root, CheckpointPath), signed)
			},
			err: func(root string) string {
				return native(root, CheckpointPath) + ": note has no verifiable signatures"
			},
			check: func(t *testing.T, err error) {
				var unverified *note.UnverifiedNoteError
				if !errors.As(err, &unverified) {
					t.Fatalf("error %v does not wrap *note.UnverifiedNoteError", err)
				}
			},
		},
		{
			name: "checkpoint tampered",
			damage: func(t *testing.T, root string, l *Log) {
				writeFile(t, native(root, CheckpointPath), bytes.Replace(l.Signed, []byte("\n10\n"), []byte("\n9\n"), 1))
			},
			err: func(root string) string {
				return native(root, CheckpointPath) + fmt.Sprintf(": invalid signature for key %s+%08x", origin, v.KeyHash())
			},
			check: func(t *testing.T, err error) {
				var invalid *note.InvalidSignatureError
				if !errors.As(err, &invalid) {
					t.Fatalf("error %v does not wrap *note.InvalidSignatureError", err)
				}
			},
		},
		{
			name: "checkpoint too large",
			damage: func(t *testing.T, root string, l *Log) {
				writeFile(t, native(root, CheckpointPath), bytes.Repeat([]byte("x"), checkpoint.MaxNoteSize+1))
			},
			err: func(root string) string {
				return native(root, CheckpointPath) + ": larger than 16384 bytes"
			},
		},
		{
			name: "no checkpoint",
			damage: func(t *testing.T, root string, l *Log) {
				if err := os.Remove(native(root, CheckpointPath)); err != nil {
					t.Fatal(err)
				}
			},
			err: func(root string) string {
				return native(root, CheckpointPath) + ": no signed log"
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrNoLog) {
					t.Fatalf("error %v does not wrap ErrNoLog", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			l := publish(t, root, s, 10)
			if _, err := Load(root, v); err != nil {
				t.Fatalf("Load before breaking the log: %v", err)
			}
			tt.damage(t, root, l)
			got, err := Load(root, v)
			if err == nil {
				t.Fatalf("Load = log of %d records, want error %q", got.N(), tt.err(root))
			}
			if err.Error() != tt.err(root) {
				t.Fatalf("Load error\n%s\nwant\n%s", err, tt.err(root))
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedCommit leaves what a commit killed before its checkpoint
// rename leaves (journal bytes and tiles beyond the checkpoint), and checks
// that Load serves the old log and the next Commit makes the files exact.
func TestInterruptedCommit(t *testing.T) {
	root := t.TempDir()
	s, v := newKey(t)
	old := publish(t, root, s, 300)

	// The interrupted commit would have added records 300..599.
	lost, _ := extend(t, old, recordLines(t, 300, 600), s, 1700002000)
	for _, tile := range tlog.NewTiles(TileHeight, 300, 600) {
		data, err := tlog.ReadTileData(tile, lost.HashReader())
		if err != nil {
			t.Fatal(err)
		}
		name := native(root, TilePrefix+tile.Path())
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, name, data)
	}
	writeFile(t, native(root, JournalPath), append(bytes.Clone(lost.Journal), "file 17000"...))

	loaded, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, loaded, old)

	// The next commit holds other records than the lost one.
	next, signed := extend(t, loaded, recordLines(t, 1000, 1010), s, 1700003000)
	if err := Commit(root, loaded, next, signed); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(native(root, JournalPath)); !bytes.Equal(got, next.Journal) {
		t.Fatalf("journal after the next commit has %d bytes, want exactly the log's %d", len(got), len(next.Journal))
	}
	checkTiles(t, root, next, tlog.NewTiles(TileHeight, 300, 310))
	got, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, got, next)
	// Every tile a reader of the new checkpoint needs is consistent with it.
	tr := tlog.TileHashReader(tlog.Tree{N: got.N(), Hash: got.Checkpoint.Hash}, dirTiles{root})
	if h, err := tlog.TreeHash(got.N(), tr); err != nil || h != got.Checkpoint.Hash {
		t.Fatalf("tree hash from tiles = %v, %v; want %v", h, err, got.Checkpoint.Hash)
	}
}

// dirTiles is a tlog.TileReader over the tile files of a tree on disk, as a
// client fetching .pando/tile/... from a mirror would read them.
type dirTiles struct{ root string }

func (d dirTiles) Height() int { return TileHeight }

func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(native(d.root, TilePrefix+t.Path()))
		if err != nil {
			return nil, err
		}
		data[i] = b
	}
	return data, nil
}

func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// TestInclusionProof proves single records against the signed root, first
// from the log in memory and then, as a client would, from tile files only.
func TestInclusionProof(t *testing.T) {
	root := t.TempDir()
	s, v := newKey(t)
	l0 := Empty(origin)
	prev := l0
	for i, n := range []int{100, 300, 1000} { // several commits, as a publisher makes them
		next, signed := extend(t, prev, recordLines(t, int(prev.N()), n), s, 1700001000+int64(i))
		if err := Commit(root, prev, next, signed); err != nil {
			t.Fatal(err)
		}
		prev = next
	}
	l, err := Load(root, v)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := journal.Lines(l.Journal, 0, l.N())
	if err != nil {
		t.Fatal(err)
	}
	tree := tlog.Tree{N: l.N(), Hash: l.Checkpoint.Hash}
	fromTiles := tlog.TileHashReader(tree, dirTiles{root})
	for _, i := range []int64{0, 1, 99, 100, 255, 256, 299, 511, 512, 767, 768, 998, 999} {
		leaf := tlog.RecordHash(lines[i])
		p, err := tlog.ProveRecord(tree.N, i, l.HashReader())
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, leaf); err != nil {
			t.Fatalf("record %d: proof from memory does not check: %v", i, err)
		}
		if err := tlog.CheckRecord(p, tree.N, tree.Hash, i, tlog.RecordHash(lines[(i+1)%tree.N])); err == nil {
			t.Fatalf("record %d: proof checks for another record's line", i)
		}
		pt, err := tlog.ProveRecord(tree.N, i, fromTiles)
		if err != nil {
			t.Fatalf("record %d from tiles: %v", i, err)
		}
		if err := tlog.CheckRecord(pt, tree.N, tree.Hash, i, leaf); err != nil {
			t.Fatalf("record %d: proof from tiles does not check: %v", i, err)
		}
		if !slices.Equal(pt, p) {
			t.Fatalf("record %d: proofs from tiles and from memory differ", i)
		}
	}

	// A mirror that serves a damaged tile cannot make a proof check.
	name := native(root, TilePrefix+"tile/8/0/001")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	data[17] ^= 1
	writeFile(t, name, data)
	damaged := tlog.TileHashReader(tree, dirTiles{root})
	if p, err := tlog.ProveRecord(tree.N, 300, damaged); err == nil {
		t.Fatalf("proof of record 300 over a damaged tile: %v, want an error", p)
	}
}

// TestFormatExample builds the worked example of docs/FORMAT.md and of the
// journal and checkpoint package docs, with a fixed key, and checks that the
// documents show exactly the bytes the code writes.
func TestFormatExample(t *testing.T) {
	seed := sha256.Sum256([]byte("pando example key; published, so never use it"))
	s, v, _, vkey := keytest.From(t, origin, bytes.NewReader(seed[:]))
	root := t.TempDir()
	lines := [][]byte{
		[]byte("file 1700000000 pool/a%20b.jar 1024 1699999000 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
		[]byte("symlink 1700000000 latest.jar 1699999000 pool/a%20b.jar"),
		[]byte("remove 1700000500 pool/a%20b.jar"),
	}
	l, signed := extend(t, Empty(origin), lines, s, 1700000600)
	if err := Commit(root, Empty(origin), l, signed); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(root, v); err != nil {
		t.Fatal(err)
	}
	if got := tileFiles(t, root); !slices.Equal(got, []string{"tile/8/0/000.p/3"}) {
		t.Fatalf("example tiles %q", got)
	}

	format := readDoc(t, "../../docs/FORMAT.md")
	journalDoc := readDoc(t, "../journal/journal.go")
	checkpointDoc := readDoc(t, "../checkpoint/checkpoint.go")
	for i, line := range lines {
		leaf := tlog.RecordHash(line)
		if !strings.Contains(format, fmt.Sprintf("| %d      | `%x` |", i, leaf[:])) {
			t.Errorf("docs/FORMAT.md lacks the leaf hash %x of record %d", leaf[:], i)
		}
		if !strings.Contains(journalDoc, "//\t"+string(line)+"\n") {
			t.Errorf("package journal's doc lacks the example line %s", line)
		}
		if !strings.Contains(format, "    "+string(line)+"\n") {
			t.Errorf("docs/FORMAT.md lacks the example line %s", line)
		}
	}
	for _, line := range strings.SplitAfter(string(l.Checkpoint.Format()), "\n") {
		if line != "" && !strings.Contains(checkpointDoc, "//\t"+line) {
			t.Errorf("package checkpoint's doc lacks the example checkpoint line %q", line)
		}
	}
	if !strings.Contains(format, "tree hash is `"+l.Checkpoint.Hash.String()+"`") {
		t.Errorf("docs/FORMAT.md lacks the tree hash %s", l.Checkpoint.Hash)
	}
	if !strings.Contains(format, indent(string(signed))) {
		t.Errorf("docs/FORMAT.md lacks the signed example checkpoint:\n%s", indent(string(signed)))
	}
	if !strings.Contains(format, "    "+vkey+"\n") {
		t.Errorf("docs/FORMAT.md lacks the example verifier key %s", vkey)
	}
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// indent indents text as a Markdown code block.
func indent(text string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		if l == "\n" {
			b.WriteString(l)
		} else if l != "" {
			b.WriteString("    " + l)
		}
	}
	return b.String()
}
