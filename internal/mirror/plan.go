package mirror

import (
	"bytes"
	"encoding/hex"
	"slices"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

// A plan is what a sync must do to turn the tree from one state into the next.
type plan struct {
	install []journal.Record // files and symlinks to put in place, by path
	remove  []string         // live paths the next state no longer has
	blobs   []blob           // distinct file contents the installs need
}

// A blob is one content the installs need, and where it can come from.
type blob struct {
	sha   [32]byte
	size  int64
	from  string // an upstream path that has these bytes
	local string // a local path that should already hold them, or ""
	uses  int    // install paths that need it

	// direct, when set, is the one path that needs the blob, to be placed
	// there as soon as it is verified (see direct.go), with mtime; inPlace
	// says an interrupted run may have put it there already.
	direct  string
	mtime   int64
	inPlace bool
}

func (b blob) hex() string { return hex.EncodeToString(b.sha[:]) }

// makePlan compares the state the tree holds (have) with the one it must
// reach (want). When want extends have by records that name only the paths
// in changed, those paths are the only ones compared (with the suspect
// ones), so the work grows with the change rather than with the tree; a nil
// changed compares every path. Paths in suspect may not hold what have says
// (an interrupted run was replacing them) and are always installed again.
// Bytes that some unsuspected local file already holds are copied from it,
// not fetched.
func makePlan(have, want *journal.State, changed []string, suspect map[string]bool) plan {
	cands := candidates(have, want, changed, suspect)
	p := plan{install: make([]journal.Record, 0, len(cands)), blobs: make([]blob, 0, len(cands))}
	index := make(map[[32]byte]int, len(cands))
	for _, path := range cands {
		w, live := want.Lookup(path)
		h, had := have.Lookup(path)
		switch {
		case !live && had:
			p.remove = append(p.remove, path)
		case !live:
		case had && !suspect[path] && sameContent(h.Record, w.Record):
		default:
			p.install = append(p.install, w.Record)
			if w.Kind != journal.File {
				continue
			}
			if i, ok := index[w.SHA256]; ok {
				p.blobs[i].uses++
				continue
			}
			index[w.SHA256] = len(p.blobs)
			p.blobs = append(p.blobs, blob{sha: w.SHA256, size: w.Size, from: path, uses: 1})
		}
	}
	p.findLocal(have, index, suspect)
	return p
}

// candidates returns, in sorted order without repeats, the paths makePlan
// must compare: changed and suspect ones, or every path of have and want
// when changed is nil.
func candidates(have, want *journal.State, changed []string, suspect map[string]bool) []string {
	var out []string
	if changed == nil {
		for _, s := range []*journal.State{have, want} {
			for e := range s.Entries() {
				out = append(out, e.Path)
			}
		}
	} else {
		out = append(out, changed...)
	}
	for path := range suspect {
		out = append(out, path)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// changedPaths returns the paths named by the records next adds to old, or
// nil (compare every path) when next does not extend old.
func changedPaths(old, next *logdir.Log) ([]string, error) {
	if !bytes.HasPrefix(next.Journal, old.Journal) {
		return nil, nil
	}
	return tailPaths(next.Journal[len(old.Journal):])
}

// tailPaths returns the paths named by the record lines in tail.
func tailPaths(tail []byte) ([]string, error) {
	out := []string{}
	for len(tail) > 0 {
		line, rest, _ := bytes.Cut(tail, []byte{'\n'})
		r, err := journal.ParseLine(line)
		if err != nil {
			return nil, err
		}
		out = append(out, r.Path)
		tail = rest
	}
	return out, nil
}

// findLocal gives every blob that an unsuspected file of have already holds
// that file (the first in path order) as its local source.
func (p *plan) findLocal(have *journal.State, index map[[32]byte]int, suspect map[string]bool) {
	if len(index) == 0 {
		return
	}
	for h := range have.Entries() {
		i, ok := index[h.SHA256]
		if !ok || h.Kind != journal.File || suspect[h.Path] {
			continue
		}
		if b := &p.blobs[i]; b.local == "" || h.Path < b.local {
			b.local = h.Path
		}
	}
}

// sameContent reports whether two records put the same thing at a path.
func sameContent(a, b journal.Record) bool {
	a.Time, b.Time = 0, 0
	return a == b
}

// pendingOf describes p as the intent a verifier can read.
func pendingOf(p plan, records int64) *logdir.Pending {
	pd := &logdir.Pending{Records: records, Remove: p.remove}
	for _, r := range p.install {
		f := logdir.PendingFile{Path: r.Path}
		if r.Kind == journal.Symlink {
			f.Target = r.Target
		} else {
			f.Size, f.SHA256 = r.Size, hex.EncodeToString(r.SHA256[:])
		}
		pd.Install = append(pd.Install, f)
	}
	return pd
}
