package journal

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
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

// Clone returns an independent copy of s.
func (s *State) Clone() *State {
	c := &State{N: s.N, entries: make(map[string]*Entry, len(s.entries)), dirs: make(map[string]int, len(s.dirs))}
	for p, e := range s.entries {
		c.entries[p] = e
	}
	for d, n := range s.dirs {
		c.dirs[d] = n
	}
	return c
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
	if s.dirs[r.Path] > 0 {
		return fmt.Errorf("%s %q: path is a directory of other live paths", r.Kind, r.Path)
	}
	var conflict string
	s.forDirs(r.Path, func(d string) {
		if _, ok := s.entries[d]; ok && conflict == "" {
			conflict = d
		}
	})
	if conflict != "" {
		return fmt.Errorf("%s %q: parent %q is a live %s", r.Kind, r.Path, conflict, s.entries[conflict].Kind)
	}
	if _, ok := s.entries[r.Path]; !ok {
		s.forDirs(r.Path, func(d string) { s.dirs[d]++ })
	}
	s.entries[r.Path] = &Entry{Record: r, Index: s.N}
	s.N++
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
	recs := make([]Record, len(lines))
	for i, line := range lines {
		r, err := ParseLine(line)
		if err == nil {
			err = s.Apply(r)
		}
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", s.N, err)
		}
		recs[i] = r
	}
	return recs, nil
}
