package journal

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"maps"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// An Entry is a live path in a replayed state: the record that last set it and
// that record's index in the journal.
type Entry struct {
	Record
	Index int64
}

// State is the live tree a journal describes: every path whose latest record
// is not a removal. The zero value is not usable; call NewState.
type State struct {
	N       int64             // records replayed
	entries map[string]*Entry // live paths
	dirs    map[string]int    // directory -> live entries below it
}

// NewState returns the empty state of a journal with no records.
func NewState() *State {
	return &State{entries: make(map[string]*Entry), dirs: make(map[string]int)}
}

// Len returns the number of live paths.
func (s *State) Len() int { return len(s.entries) }

// Lookup returns the live entry for path p.
func (s *State) Lookup(p string) (*Entry, bool) {
	e, ok := s.entries[p]
	return e, ok
}

// IsDir reports whether p is a directory of the tree (has live entries below).
func (s *State) IsDir(p string) bool { return s.dirs[p] > 0 }

// Paths returns the live paths in sorted order.
func (s *State) Paths() []string {
	ps := make([]string, 0, len(s.entries))
	for p := range s.entries {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// Entries returns the live entries in no particular order, for callers that
// visit them all and need no order (Paths gives one).
func (s *State) Entries() iter.Seq[*Entry] { return maps.Values(s.entries) }

// Clone returns an independent copy of s.
func (s *State) Clone() *State {
	return &State{N: s.N, entries: maps.Clone(s.entries), dirs: maps.Clone(s.dirs)}
}

// Rebuild returns the state of a journal of n records whose live entries are
// entries, in any order, as a replay would have left them. It refuses an
// entry that no replay could leave: a removal, an index not below n, a path
// that is not valid, live twice, below another live path or above one.
func Rebuild(n int64, entries []Entry) (*State, error) {
	if n < 0 || n > MaxRecords || int64(len(entries)) > n {
		return nil, fmt.Errorf("%d live entries in %d records", len(entries), n)
	}
	s := &State{N: n, entries: make(map[string]*Entry, len(entries)), dirs: make(map[string]int, len(entries)/4)}
	// Checking the entries, indexing them by path and counting their
	// directories are independent: a Load of a large tree does them side
	// by side. The first failure in that order is the one reported.
	var checked, indexed error
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range entries {
			e := &entries[i]
			if e.Kind != File && e.Kind != Symlink || e.Index < 0 || e.Index >= n {
				checked = fmt.Errorf("entry %q: kind %v at index %d of %d records", e.Path, e.Kind, e.Index, n)
				return
			}
			if err := CheckPath(e.Path); err != nil {
				checked = err
				return
			}
		}
	})
	wg.Go(func() {
		for i := range entries {
			e := &entries[i]
			if _, dup := s.entries[e.Path]; dup {
				indexed = fmt.Errorf("entry %q: live twice", e.Path)
				return
			}
			s.entries[e.Path] = e
		}
	})
	for i := range entries {
		s.forDirs(entries[i].Path, func(d string) { s.dirs[d]++ })
	}
	wg.Wait()
	if err := cmp.Or(checked, indexed); err != nil {
		return nil, err
	}
	// A live path below another is the same as a directory that is live.
	for d := range s.dirs {
		if e, ok := s.entries[d]; ok {
			return nil, fmt.Errorf("%s %q: path is a directory of other live paths", e.Kind, d)
		}
	}
	return s, nil
}

// Apply replays record r as the next record of the journal. It refuses a
// record that could not describe a real tree: removing a path that is not
// live, or a file whose path is, or lies below, another live file.
func (s *State) Apply(r Record) error {
	if s.N >= MaxRecords {
		return fmt.Errorf("more than %d records", int64(MaxRecords))
	}
	if r.Kind == Remove {
		if _, ok := s.entries[r.Path]; !ok {
			return fmt.Errorf("remove %q: path is not live", r.Path)
		}
		delete(s.entries, r.Path)
		s.forDirs(r.Path, func(d string) {
			s.dirs[d]--
			if s.dirs[d] == 0 {
				delete(s.dirs, d)
			}
		})
		s.N++
		return nil
	}
	if err := s.put(&Entry{Record: r, Index: s.N}); err != nil {
		return err
	}
	s.N++
	return nil
}

// put makes e the live entry at its path, refusing a path that is a
// directory of live paths or lies below a live path.
func (s *State) put(e *Entry) error {
	p := e.Path
	if s.dirs[p] > 0 {
		return fmt.Errorf("%s %q: path is a directory of other live paths", e.Kind, p)
	}
	var conflict string
	s.forDirs(p, func(d string) {
		if _, ok := s.entries[d]; ok && conflict == "" {
			conflict = d
		}
	})
	if conflict != "" {
		return fmt.Errorf("%s %q: parent %q is a live %s", e.Kind, p, conflict, s.entries[conflict].Kind)
	}
	if _, ok := s.entries[p]; !ok {
		s.forDirs(p, func(d string) { s.dirs[d]++ })
	}
	s.entries[p] = e
	return nil
}

// forDirs calls f for every proper ancestor directory of p.
func (s *State) forDirs(p string, f func(dir string)) {
	for i := strings.LastIndexByte(p, '/'); i > 0; i = strings.LastIndexByte(p[:i], '/') {
		f(p[:i])
	}
}

// Lines splits data into at most n record lines, each without its newline.
// It returns an error naming the record index (counting from first) if a line
// is overlong or data ends before n complete lines. Bytes after the n-th line
// are ignored: a journal may carry records a later checkpoint will cover.
func Lines(data []byte, first, n int64) ([][]byte, error) {
	if n < 0 || n > MaxRecords {
		return nil, fmt.Errorf("record count %d out of range", n)
	}
	lines := make([][]byte, 0, min(n, int64(len(data)/64+1)))
	for i := int64(0); i < n; i++ {
		j := bytes.IndexByte(data[:min(len(data), MaxLineLen)], '\n')
		if j < 0 {
			if len(data) >= MaxLineLen {
				return nil, fmt.Errorf("record %d: line longer than %d bytes", first+i, MaxLineLen)
			}
			return nil, fmt.Errorf("record %d: journal ends after %d of %d records", first+i, i, n)
		}
		lines = append(lines, data[:j])
		data = data[j+1:]
	}
	return lines, nil
}

// ApplyLines parses each line as the next record and applies it to s. The
// error names the index of the bad record; s then holds the records before it,
// so a caller that must not see a partial replay applies to a Clone.
func (s *State) ApplyLines(lines [][]byte) ([]Record, error) {
	recs, errs := parseLines(lines)
	for i := range recs {
		err := errs[i]
		if err == nil {
			err = s.Apply(recs[i])
		}
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", s.N, err)
		}
	}
	return recs, nil
}

// parseSplit is the fewest lines parseLines shares among goroutines.
const parseSplit = 8192

// parseLines parses each line, returning the records and each line's error.
// Parsing is most of a replay's work and each line stands alone, so many
// lines are parsed on every core; applying them stays in order.
func parseLines(lines [][]byte) ([]Record, []error) {
	recs := make([]Record, len(lines))
	errs := make([]error, len(lines))
	parts := 1
	if len(lines) >= parseSplit {
		parts = runtime.GOMAXPROCS(0)
	}
	chunk := (len(lines) + parts - 1) / parts
	var wg sync.WaitGroup
	for lo := 0; lo < len(lines); lo += chunk {
		wg.Go(func() {
			for i := lo; i < min(lo+chunk, len(lines)); i++ {
				recs[i], errs[i] = ParseLine(lines[i])
			}
		})
	}
	wg.Wait()
	return recs, errs
}
