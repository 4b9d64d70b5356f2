package get

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/journal"
)

// memRanges serves a journal from memory and records what was read.
type memRanges struct {
	data  []byte
	reads [][2]int64 // offset, length
}

func (m *memRanges) Tail(_ context.Context, n int64) ([]byte, int64, error) {
	size := int64(len(m.data))
	off := max(0, size-n)
	m.reads = append(m.reads, [2]int64{off, size - off})
	return bytes.Clone(m.data[off:]), size, nil
}

func (m *memRanges) Range(_ context.Context, off, n int64) ([]byte, error) {
	if off < 0 || off+n > int64(len(m.data)) {
		return nil, fmt.Errorf("range %d+%d outside %d bytes", off, n, len(m.data))
	}
	m.reads = append(m.reads, [2]int64{off, n})
	return bytes.Clone(m.data[off : off+n]), nil
}

func (m *memRanges) minOffset() int64 {
	lo := int64(len(m.data))
	for _, r := range m.reads {
		lo = min(lo, r[0])
	}
	return lo
}

// signedLines is a journal's lines as the origin signed them.
type signedLines [][]byte

func (s signedLines) leaf(i int64) (tlog.Hash, error) {
	if i < 0 || i >= int64(len(s)) {
		return tlog.Hash{}, fmt.Errorf("record %d not signed", i)
	}
	return tlog.RecordHash(s[i]), nil
}

func (s signedLines) journal() []byte {
	var b []byte
	for _, l := range s {
		b = append(append(b, l...), '\n')
	}
	return b
}

func lineOf(t *testing.T, r journal.Record) []byte {
	t.Helper()
	b, err := journal.AppendLine(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

func fileLine(t *testing.T, p string, size int64) []byte {
	return lineOf(t, journal.Record{Kind: journal.File, Time: 1700000000, Path: p, Size: size, MTime: 1699999000, SHA256: [32]byte{byte(size)}})
}

func removeLine(t *testing.T, p string) []byte {
	return lineOf(t, journal.Record{Kind: journal.Remove, Time: 1700000500, Path: p})
}

// sampleLog is 40 records: "target" first, a replaced and a removed path,
// filler with long names, and "last" at the end.
func sampleLog(t *testing.T) signedLines {
	var s signedLines
	s = append(s, fileLine(t, "target", 1))
	s = append(s, fileLine(t, "replaced", 1))
	s = append(s, fileLine(t, "gone", 1))
	for i := 0; i < 34; i++ {
		s = append(s, fileLine(t, fmt.Sprintf("pool/filler-%02d-with-a-longer-name.tar.gz", i), int64(i)))
	}
	s = append(s, fileLine(t, "replaced", 2))
	s = append(s, removeLine(t, "gone"))
	s = append(s, fileLine(t, "last", 9))
	return s
}

func scanFor(t *testing.T, log signedLines, data []byte, chunk int64, p string) (found, *memRanges, error) {
	t.Helper()
	src := &memRanges{data: data}
	s := newScanner("journal", src, log.leaf, int64(len(log)), 0)
	s.chunk, s.maxChunk = chunk, chunk
	f, err := s.latest(context.Background(), p)
	return f, src, err
}

func TestScanFindsLatest(t *testing.T) {
	log := sampleLog(t)
	data := log.journal()
	offsetOf := func(i int) int64 { return int64(len(signedLines(log[:i]).journal())) }
	tests := []struct {
		path  string
		index int64
		kind  journal.Kind
		size  int64
	}{
		{"target", 0, journal.File, 1},
		{"last", 39, journal.File, 9},
		{"replaced", 37, journal.File, 2},
		{"gone", 38, journal.Remove, 0},
		{"pool/filler-17-with-a-longer-name.tar.gz", 20, journal.File, 17},
	}
	// Chunks of every size from one byte to more than the journal, so that
	// lines span chunk boundaries at every position.
	for _, chunk := range []int64{1, 2, 3, 7, 13, 50, 99, 100, 101, 1000, firstChunk} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/chunk%d", tt.path, chunk), func(t *testing.T) {
				f, _, err := scanFor(t, log, data, chunk, tt.path)
				if err != nil {
					t.Fatal(err)
				}
				if f.index != tt.index || f.rec.Kind != tt.kind || f.rec.Size != tt.size || f.rec.Path != tt.path {
					t.Fatalf("found record %d %+v, want record %d, %v of size %d", f.index, f.rec, tt.index, tt.kind, tt.size)
				}
				if !bytes.Equal(f.line, log[tt.index]) || f.offset != offsetOf(int(tt.index)) {
					t.Fatalf("line %q at byte %d, want %q at byte %d", f.line, f.offset, log[tt.index], offsetOf(int(tt.index)))
				}
			})
		}
	}
}

func TestScanReadsOnlyTheTail(t *testing.T) {
	log := sampleLog(t)
	data := log.journal()
	f, src, err := scanFor(t, log, data, 200, "last")
	if err != nil {
		t.Fatal(err)
	}
	if len(src.reads) != 1 || src.minOffset() != int64(len(data))-200 {
		t.Fatalf("reads %v for the last record, want one read of the last 200 bytes", src.reads)
	}
	if f.index != 39 {
		t.Fatalf("index %d, want 39", f.index)
	}
	// The first record needs the whole journal, in chunks that double.
	s := newScanner("journal", &memRanges{data: data}, log.leaf, int64(len(log)), 0)
	s.chunk, s.maxChunk = 64, 256
	if _, err := s.latest(context.Background(), "target"); err != nil {
		t.Fatal(err)
	}
	if s.read != int64(len(data)) {
		t.Fatalf("read %d bytes for the first record, want the whole %d", s.read, len(data))
	}
	if want := 1 + 1 + (len(data)-64-128-1)/256 + 1; s.reads > want {
		t.Fatalf("%d reads, want at most %d with doubling chunks", s.reads, want)
	}
}

func TestScanNotFound(t *testing.T) {
	log := sampleLog(t)
	_, src, err := scanFor(t, log, log.journal(), 100, "never")
	if !errors.Is(err, ErrNotFound) || err.Error() != "never: not in the signed log (40 records)" {
		t.Fatalf("error %v, want ErrNotFound", err)
	}
	if src.minOffset() != 0 {
		t.Fatal("a path no record names needs the whole journal")
	}
	s := newScanner("journal", &memRanges{}, signedLines(nil).leaf, 0, 0)
	if _, err := s.latest(context.Background(), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty log: %v", err)
	}
}

// TestScanSkipsUncommitted: lines after the checkpoint's last record (an
// interrupted commit, a publish after the checkpoint was read), even a
// partial one and even naming the path, are not part of the signed log.
func TestScanSkipsUncommitted(t *testing.T) {
	log := sampleLog(t)
	data := append(log.journal(), removeLine(t, "target")...)
	data = append(data, '\n')
	data = append(data, fileLine(t, "last", 100)...)
	data = append(data, '\n')
	data = append(data, "file 17000"...) // cut off mid-line
	for _, chunk := range []int64{5, 64, firstChunk} {
		f, _, err := scanFor(t, log, data, chunk, "target")
		if err != nil || f.index != 0 || f.rec.Kind != journal.File {
			t.Fatalf("chunk %d: found %+v at %d, %v; want the file record 0", chunk, f.rec, f.index, err)
		}
		f, _, err = scanFor(t, log, data, chunk, "last")
		if err != nil || f.index != 39 || f.rec.Size != 9 {
			t.Fatalf("chunk %d: found %+v at %d, %v; want record 39 of size 9", chunk, f.rec, f.index, err)
		}
	}
}

func TestScanRefuses(t *testing.T) {
	log := sampleLog(t)
	good := log.journal()
	at := func(i int) int64 { return int64(len(signedLines(log[:i]).journal())) }

	// A malformed line the origin signed all the same.
	bad := append(signedLines{}, log...)
	bad[38] = []byte("remove 01 gone")
	// A later record of "replaced" swapped for another line: the scan must
	// not skip over it to the older record.
	hidden := bytes.Replace(good, log[37], fileLine(t, "other", 2), 1)
	overlong := append(signedLines{}, log...)
	overlong[20] = bytes.Repeat([]byte("x"), journal.MaxLineLen)

	tests := []struct {
		name  string
		log   signedLines
		data  []byte
		chunk int64
		path  string
		err   string
	}{
		{"malformed line", bad, bad.journal(), 16, "replaced",
			fmt.Sprintf(`journal: byte %d: record 38: time "01" is not a canonical decimal number`, at(38))},
		{"hidden later record", log, hidden, 16, "replaced",
			fmt.Sprintf("journal: byte %d: line does not match signed record 37", at(37))},
		{"journal of another log", log, sampleLog(t)[:39].journal(), 64, "target",
			"journal: no line matches signed record 39, the last the checkpoint covers"},
		{"first lines missing", log, good[at(2):], 64, "target",
			"journal: first line is signed record 2: 2 earlier records missing"},
		{"overlong line", overlong, overlong.journal(), 4096, "target",
			fmt.Sprintf("journal: byte %d: line of %d bytes exceeds %d", at(20), journal.MaxLineLen+1, journal.MaxLineLen)},
		{"empty line", log, bytes.Replace(good, []byte("\n"), []byte("\n\n"), 1), 64, "target",
			fmt.Sprintf("journal: byte %d: line does not match signed record 0", at(1))},
		{"no newline at all", log, []byte(strings.Repeat("y", 100)), 64, "target",
			"journal: no line matches signed record 39, the last the checkpoint covers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := scanFor(t, tt.log, tt.data, tt.chunk, tt.path)
			if err == nil || err.Error() != tt.err {
				t.Fatalf("error %v\nwant %s", err, tt.err)
			}
		})
	}
}

// TestScanOverlongUnterminated: a line far longer than the limit is refused
// once the limit is passed, without reading to its start.
func TestScanOverlongUnterminated(t *testing.T) {
	log := sampleLog(t)
	log[20] = bytes.Repeat([]byte("x"), 10*journal.MaxLineLen)
	data := log.journal()
	end := len(signedLines(log[:21]).journal())
	_, src, err := scanFor(t, log, data, 1000, "target")
	want := fmt.Sprintf("line ending at byte %d exceeds %d bytes", end, journal.MaxLineLen)
	if err == nil || !strings.HasPrefix(err.Error(), "journal: byte ") || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("error %v, want one ending %q", err, want)
	}
	if lo := src.minOffset(); lo < int64(end-journal.MaxLineLen-2000) {
		t.Fatalf("read back to byte %d, more than the limit before the line end %d", lo, end)
	}
}

func TestScanLimit(t *testing.T) {
	log := sampleLog(t)
	src := &memRanges{data: log.journal()}
	s := newScanner("journal", src, log.leaf, int64(len(log)), 500)
	s.chunk, s.maxChunk = 200, 200
	_, err := s.latest(context.Background(), "target")
	want := fmt.Sprintf("journal: byte %d: record not found in the last 400 bytes, the most a lookup may read", len(src.data)-400)
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

// FuzzScan serves arbitrary bytes as the journal of a fixed signed log. The
// scanner may refuse them, but whatever it returns must be the path's
// latest signed record: never an older one, never a line the origin did not
// sign.
func FuzzScan(f *testing.F) {
	log := sampleLog(&testing.T{})
	good := log.journal()
	f.Add(good, uint16(16), "replaced")
	f.Add(append(bytes.Clone(good), "file 1 x 1 1 00\npartial"...), uint16(5), "target")
	f.Add(bytes.Replace(good, log[37], log[1], 1), uint16(64), "replaced")
	f.Add(good[100:], uint16(1), "gone")
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, p string) {
		src := &memRanges{data: data}
		s := newScanner("journal", src, log.leaf, int64(len(log)), 1<<20)
		s.chunk, s.maxChunk = int64(chunk)+1, int64(chunk)+1
		f, err := s.latest(context.Background(), p)
		if err != nil {
			return
		}
		if f.index < 0 || f.index >= int64(len(log)) || !bytes.Equal(f.line, log[f.index]) {
			t.Fatalf("returned line %q as record %d, which the origin did not sign", f.line, f.index)
		}
		for i := f.index + 1; i < int64(len(log)); i++ {
			if r, err := journal.ParseLine(log[i]); err == nil && r.Path == p {
				t.Fatalf("returned record %d of %q, but record %d is later", f.index, p, i)
			}
		}
	})
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		h  string
		ok bool
		cr contentRange
	}{
		{"bytes 0-9/10", true, contentRange{0, 9, 10}},
		{"bytes 5-5/*", true, contentRange{5, 5, -1}},
		{"bytes 9-0/10", false, contentRange{}},
		{"bytes 0-10/10", false, contentRange{}},
		{"bytes -1-3/10", false, contentRange{}},
		{"bytes 0-3", false, contentRange{}},
		{"items 0-3/4", false, contentRange{}},
		{"bytes a-3/4", false, contentRange{}},
	}
	for _, tt := range tests {
		cr, ok := parseContentRange(tt.h)
		if ok != tt.ok || cr != tt.cr {
			t.Errorf("parseContentRange(%q) = %+v, %v; want %+v, %v", tt.h, cr, ok, tt.cr, tt.ok)
		}
	}
}
