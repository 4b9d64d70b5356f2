package journal

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func fileRec(p string, size int64) Record {
	return Record{Kind: File, Time: 1700000000, Path: p, Size: size, MTime: 1699999000}
}

func linkRec(p, target string) Record {
	return Record{Kind: Symlink, Time: 1700000000, Path: p, MTime: 1699999000, Target: target}
}

func removeRec(p string) Record {
	return Record{Kind: Remove, Time: 1700000500, Path: p}
}

// replay applies recs to a new state, failing the test on any error.
func replay(t *testing.T, recs ...Record) *State {
	t.Helper()
	s := NewState()
	for _, r := range recs {
		if err := s.Apply(r); err != nil {
			t.Fatalf("Apply(%+v): %v", r, err)
		}
	}
	return s
}

// TestApplyRefuses replays a valid prefix and then one record that could not
// describe a real tree, and checks the error and that the state is unchanged.
func TestApplyRefuses(t *testing.T) {
	tests := []struct {
		name   string
		before []Record
		bad    Record
		err    string
	}{
		{"remove of a path never added", nil, removeRec("a"), `remove "a": path is not live`},
		{"remove twice", []Record{fileRec("a", 1), removeRec("a")}, removeRec("a"), `remove "a": path is not live`},
		{"remove of a directory", []Record{fileRec("d/x", 1)}, removeRec("d"), `remove "d": path is not live`},
		{"file under a file", []Record{fileRec("a", 1)}, fileRec("a/b", 1), `file "a/b": parent "a" is a live file`},
		{"file deep under a file", []Record{fileRec("a", 1)}, fileRec("a/b/c", 1), `file "a/b/c": parent "a" is a live file`},
		{"file under a symlink", []Record{linkRec("l", "d")}, fileRec("l/x", 1), `file "l/x": parent "l" is a live symlink`},
		{"symlink under a file", []Record{fileRec("a/b", 1)}, linkRec("a/b/l", "x"), `symlink "a/b/l": parent "a/b" is a live file`},
		{"file over a directory", []Record{fileRec("d/x", 1)}, fileRec("d", 1), `file "d": path is a directory of other live paths`},
		{"symlink over a directory", []Record{fileRec("d/e/x", 1)}, linkRec("d", "x"), `symlink "d": path is a directory of other live paths`},
		{"file over a nested directory", []Record{fileRec("d/e/x", 1)}, fileRec("d/e", 1), `file "d/e": path is a directory of other live paths`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := replay(t, tt.before...)
			paths, n := s.Paths(), s.N
			err := s.Apply(tt.bad)
			if err == nil || err.Error() != tt.err {
				t.Fatalf("Apply(%+v) error = %v, want %q", tt.bad, err, tt.err)
			}
			if s.N != n || !slices.Equal(s.Paths(), paths) {
				t.Fatalf("refused record changed the state: N %d -> %d, paths %q -> %q", n, s.N, paths, s.Paths())
			}
		})
	}
}

func TestApplyReplace(t *testing.T) {
	s := replay(t, fileRec("a", 1), fileRec("b", 5), fileRec("a", 2))
	e, ok := s.Lookup("a")
	if !ok || e.Size != 2 || e.Index != 2 {
		t.Fatalf("Lookup(a) = %+v, %v; want size 2 from record 2", e, ok)
	}
	if s.N != 3 || s.Len() != 2 {
		t.Fatalf("N, Len = %d, %d; want 3, 2", s.N, s.Len())
	}
	// A symlink may replace a file at the same path, and a file a symlink.
	if err := s.Apply(linkRec("a", "b")); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Lookup("a"); e.Kind != Symlink || e.Target != "b" || e.Index != 3 {
		t.Fatalf("Lookup(a) = %+v, want the symlink of record 3", e)
	}
	if err := s.Apply(fileRec("a", 9)); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Lookup("a"); e.Kind != File || e.Size != 9 || s.Len() != 2 {
		t.Fatalf("Lookup(a) = %+v, Len %d; want the file of record 4 and 2 paths", e, s.Len())
	}
}

func TestApplyRemoveThenReAdd(t *testing.T) {
	s := replay(t, fileRec("d/x", 1), fileRec("d/e/y", 1))
	if !s.IsDir("d") || !s.IsDir("d/e") {
		t.Fatal("d and d/e should be directories")
	}
	if err := s.Apply(removeRec("d/e/y")); err != nil {
		t.Fatal(err)
	}
	if !s.IsDir("d") || s.IsDir("d/e") {
		t.Fatalf("after removing d/e/y: IsDir(d) = %v, IsDir(d/e) = %v; want true, false", s.IsDir("d"), s.IsDir("d/e"))
	}
	if err := s.Apply(removeRec("d/x")); err != nil {
		t.Fatal(err)
	}
	if s.IsDir("d") || s.Len() != 0 {
		t.Fatalf("after removing everything: IsDir(d) = %v, Len %d", s.IsDir("d"), s.Len())
	}
	// d is free again: it can be a file, and then nothing can live below it.
	if err := s.Apply(fileRec("d", 3)); err != nil {
		t.Fatalf("file d after its directory emptied: %v", err)
	}
	if err := s.Apply(fileRec("d/x", 1)); err == nil || err.Error() != `file "d/x": parent "d" is a live file` {
		t.Fatalf("file d/x under file d: %v", err)
	}
	if err := s.Apply(removeRec("d")); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(fileRec("d/x", 2)); err != nil {
		t.Fatalf("re-adding d/x: %v", err)
	}
	if e, ok := s.Lookup("d/x"); !ok || e.Size != 2 || e.Index != 6 || s.N != 7 {
		t.Fatalf("Lookup(d/x) = %+v, %v, N %d; want size 2 from record 6, N 7", e, ok, s.N)
	}
}

func TestPathsAndIsDir(t *testing.T) {
	s := replay(t, fileRec("b", 1), fileRec("a/z", 1), linkRec("A", "b"), fileRec("a/b/c", 1), fileRec("a b", 1), fileRec("gone", 1), removeRec("gone"))
	want := []string{"A", "a b", "a/b/c", "a/z", "b"}
	if got := s.Paths(); !slices.Equal(got, want) {
		t.Fatalf("Paths() = %q, want %q", got, want)
	}
	for p, want := range map[string]bool{"a": true, "a/b": true, "a/b/c": false, "b": false, "A": false, "": false, "a/": false, "gone": false, "x": false} {
		if got := s.IsDir(p); got != want {
			t.Errorf("IsDir(%q) = %v, want %v", p, got, want)
		}
	}
	if _, ok := s.Lookup("gone"); ok {
		t.Error("Lookup(gone) found a removed path")
	}
	if got := NewState().Paths(); len(got) != 0 {
		t.Errorf("empty state Paths() = %q", got)
	}
}

func TestClone(t *testing.T) {
	s := replay(t, fileRec("a/x", 1), fileRec("b", 1))
	c := s.Clone()
	for _, r := range []Record{removeRec("a/x"), fileRec("a", 2), fileRec("c", 1)} {
		if err := c.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.Paths(), []string{"a/x", "b"}; !slices.Equal(got, want) || s.N != 2 || !s.IsDir("a") {
		t.Fatalf("original after changing the clone: Paths %q N %d IsDir(a) %v; want %q 2 true", got, s.N, s.IsDir("a"), want)
	}
	if err := s.Apply(removeRec("b")); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Paths(), []string{"a", "b", "c"}; !slices.Equal(got, want) || c.N != 5 || c.IsDir("a") {
		t.Fatalf("clone after changing the original: Paths %q N %d IsDir(a) %v; want %q 5 false", got, c.N, c.IsDir("a"), want)
	}
}

func TestApplyRecordLimit(t *testing.T) {
	s := NewState()
	s.N = MaxRecords
	if err := s.Apply(fileRec("a", 1)); err == nil || err.Error() != "more than 4294967296 records" {
		t.Fatalf("Apply past MaxRecords: %v", err)
	}
}

func TestLines(t *testing.T) {
	longest := strings.Repeat("x", MaxLineLen-1) + "\n"
	tooLong := strings.Repeat("x", MaxLineLen) + "\n"
	tests := []struct {
		name     string
		data     string
		first, n int64
		want     []string
		err      string
	}{
		{"exact count", "a\nb\nc\n", 0, 3, []string{"a", "b", "c"}, ""},
		{"none", "a\n", 0, 0, []string{}, ""},
		{"nothing to read", "", 0, 0, []string{}, ""},
		{"trailing records ignored", "a\nb\nc\n", 0, 2, []string{"a", "b"}, ""},
		{"trailing partial line ignored", "a\nb\npart", 0, 2, []string{"a", "b"}, ""},
		{"empty lines", "\n\n", 0, 2, []string{"", ""}, ""},
		{"longest line", longest + "b\n", 0, 2, []string{longest[:MaxLineLen-1], "b"}, ""},
		{"short", "a\nb\nc\n", 0, 4, nil, "record 3: journal ends after 3 of 4 records"},
		{"short from an offset", "a\nb\n", 10, 3, nil, "record 12: journal ends after 2 of 3 records"},
		{"last line without newline", "a\nb", 0, 2, nil, "record 1: journal ends after 1 of 2 records"},
		{"empty", "", 5, 1, nil, "record 5: journal ends after 0 of 1 records"},
		{"overlong", "a\n" + tooLong, 0, 2, nil, fmt.Sprintf("record 1: line longer than %d bytes", MaxLineLen)},
		{"overlong and unterminated", strings.Repeat("x", MaxLineLen), 7, 1, nil, fmt.Sprintf("record 7: line longer than %d bytes", MaxLineLen)},
		{"overlong beyond n ignored", "a\n" + tooLong, 0, 1, []string{"a"}, ""},
		{"negative count", "", 0, -1, nil, "record count -1 out of range"},
		{"count too large", "", 0, MaxRecords + 1, nil, "record count 4294967297 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := Lines([]byte(tt.data), tt.first, tt.n)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Lines error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(lines))
			for i, l := range lines {
				got[i] = string(l)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Lines = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApplyLines(t *testing.T) {
	line := func(r Record) []byte {
		b, err := AppendLine(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.TrimSuffix(b, []byte("\n"))
	}
	good := [][]byte{line(fileRec("a", 1)), line(linkRec("l", "a")), line(removeRec("a"))}

	s := NewState()
	recs, err := s.ApplyLines(good)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Record{fileRec("a", 1), linkRec("l", "a"), removeRec("a")}; !slices.Equal(recs, want) || s.N != 3 {
		t.Fatalf("ApplyLines = %+v, N %d; want %+v, 3", recs, s.N, want)
	}

	tests := []struct {
		name  string
		lines [][]byte
		n     int64 // records applied before the bad one
		err   string
	}{
		{"replay error", [][]byte{good[0], good[2], good[2]}, 2, `record 2: remove "a": path is not live`},
		{"parse error", [][]byte{good[0], []byte("bogus 1 a")}, 1, `record 1: unknown record kind "bogus"`},
		{"non-canonical", [][]byte{[]byte("remove 01 a")}, 0, `record 0: time "01" is not a canonical decimal number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState()
			recs, err := s.ApplyLines(tt.lines)
			if err == nil || err.Error() != tt.err {
				t.Fatalf("ApplyLines error = %v, want %q", err, tt.err)
			}
			if recs != nil || s.N != tt.n {
				t.Fatalf("after the error: records %+v, N %d; want nil, %d", recs, s.N, tt.n)
			}
		})
	}

	// The index in the error counts from the state's own start.
	s = replay(t, fileRec("x", 1), fileRec("y", 1))
	if _, err := s.ApplyLines([][]byte{good[2]}); err == nil || err.Error() != `record 2: remove "a": path is not live` {
		t.Fatalf("ApplyLines on a state of 2 records: %v", err)
	}
}

func TestRebuild(t *testing.T) {
	s := replay(t, fileRec("a/b", 1), linkRec("a/l", "b"), fileRec("c", 2), removeRec("c"), fileRec("d/e/f", 3))
	var entries []Entry
	for e := range s.Entries() {
		entries = append(entries, *e)
	}
	got, err := Rebuild(s.N, entries)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != s.N || !slices.Equal(got.Paths(), s.Paths()) {
		t.Fatalf("rebuilt %d records %v, want %d %v", got.N, got.Paths(), s.N, s.Paths())
	}
	for _, d := range []string{"a", "d", "d/e"} {
		if !got.IsDir(d) {
			t.Errorf("%s is not a directory of the rebuilt state", d)
		}
	}
	if err := got.Apply(removeRec("d/e/f")); err != nil || got.IsDir("d") {
		t.Errorf("rebuilt state does not replay on: %v, d still a directory: %v", err, got.IsDir("d"))
	}

	e := func(p string, index int64) Entry { return Entry{Record: fileRec(p, 1), Index: index} }
	refused := map[string][]Entry{
		"live twice":        {e("a", 0), e("a", 1)},
		"below a file":      {e("a", 0), e("a/b", 1)},
		"above a file":      {e("a/b", 0), e("a", 1)},
		"index too large":   {e("a", 5)},
		"negative index":    {e("a", -1)},
		"removal":           {{Record: removeRec("a"), Index: 0}},
		"bad path":          {e("a/../b", 0)},
		"more than records": {e("a", 0), e("b", 1), e("c", 2), e("d", 3), e("e", 4), e("f", 4)},
	}
	for name, entries := range refused {
		if _, err := Rebuild(5, entries); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
