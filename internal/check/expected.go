package check

import (
	"encoding/hex"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

// expected is the origin's state as the checker uses it: every live file,
// the index of the last record of every path ever published (so a path the
// origin removed after a mirror's checkpoint is not "extra" there), and the
// publication time of every record (for exact lag).
type expected struct {
	log       *logdir.Log
	files     []*journal.Entry // live regular files, in path order
	lastIndex map[string]int64 // path -> index of its newest record, removals included
	times     []int64          // record index -> publication time
}

func newExpected(l *logdir.Log) *expected {
	e := &expected{log: l, lastIndex: make(map[string]int64), times: make([]int64, 0, l.N())}
	lines, _ := journal.Lines(l.Journal, 0, l.N()) // verified when l was built
	for i, line := range lines {
		r, err := journal.ParseLine(line)
		if err != nil {
			continue // cannot happen for a verified log
		}
		e.lastIndex[r.Path] = int64(i)
		e.times = append(e.times, r.Time)
	}
	for _, p := range l.State.Paths() {
		if ent, _ := l.State.Lookup(p); ent.Kind == journal.File {
			e.files = append(e.files, ent)
		}
	}
	return e
}

// N returns the origin's record count.
func (e *expected) N() int64 { return e.log.N() }

// rootAt returns the tree hash of the origin's first n records.
func (e *expected) rootAt(n int64) (tlog.Hash, error) {
	if n == 0 {
		return tlog.Hash{}, nil
	}
	if n > e.N() {
		return tlog.Hash{}, fmt.Errorf("%d records is more than the origin's %d", n, e.N())
	}
	return tlog.TreeHash(n, e.log.HashReader())
}

// lagSince returns the publication time of the first record a mirror at n
// records lacks: it has been out of date since then.
func (e *expected) lagSince(n int64) (int64, bool) {
	if n >= e.N() || n < 0 {
		return 0, false
	}
	return e.times[n], true
}

func hexSum(h [32]byte) string { return hex.EncodeToString(h[:]) }
