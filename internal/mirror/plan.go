package mirror

import (
	"encoding/hex"
	"sort"

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
}

func (b blob) hex() string { return hex.EncodeToString(b.sha[:]) }

// makePlan compares the state the tree holds (have) with the one it must
// reach (want). When want's first since records are have's (want extends
// have by the records from since on), the entries those records last set
// are the same in both and are not compared again, so the work grows with
// the change rather than with the tree; since 0 compares everything. Paths
// in suspect may not hold what have says (an interrupted run was replacing
// them) and are always installed again. Bytes that some unsuspected local
// file already holds are copied from it, not fetched.
func makePlan(have, want *journal.State, since int64, suspect map[string]bool) plan {
	var changed []*journal.Entry
	for w := range want.Entries() {
		if w.Index < since && !suspect[w.Path] {
			continue
		}
		if h, ok := have.Lookup(w.Path); ok && !suspect[w.Path] && sameContent(h.Record, w.Record) {
			continue
		}
		changed = append(changed, w)
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].Path < changed[j].Path })
	var p plan
	index := make(map[[32]byte]int)
	for _, w := range changed {
		p.install = append(p.install, w.Record)
		if w.Kind != journal.File {
			continue
		}
		if i, ok := index[w.SHA256]; ok {
			p.blobs[i].uses++
			continue
		}
		index[w.SHA256] = len(p.blobs)
		p.blobs = append(p.blobs, blob{sha: w.SHA256, size: w.Size, from: w.Path, uses: 1})
	}
	for h := range have.Entries() {
		if _, ok := want.Lookup(h.Path); !ok {
			p.remove = append(p.remove, h.Path)
		}
	}
	sort.Strings(p.remove)
	p.findLocal(have, index, suspect)
	return p
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
