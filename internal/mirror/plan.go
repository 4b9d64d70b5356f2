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
// reach (want). Paths in suspect may not hold what have says (an interrupted
// run was replacing them) and are always installed again. Bytes that some
// unsuspected local file already holds are copied from it, not fetched.
func makePlan(have, want *journal.State, suspect map[string]bool) plan {
	var p plan
	local := make(map[[32]byte]string)
	for _, path := range have.Paths() {
		e, _ := have.Lookup(path)
		if e.Kind == journal.File && !suspect[path] {
			if _, dup := local[e.SHA256]; !dup {
				local[e.SHA256] = path
			}
		}
	}
	index := make(map[[32]byte]int)
	for _, path := range want.Paths() {
		w, _ := want.Lookup(path)
		if h, ok := have.Lookup(path); ok && !suspect[path] && sameContent(h.Record, w.Record) {
			continue
		}
		p.install = append(p.install, w.Record)
		if w.Kind != journal.File {
			continue
		}
		if i, ok := index[w.SHA256]; ok {
			p.blobs[i].uses++
			continue
		}
		index[w.SHA256] = len(p.blobs)
		p.blobs = append(p.blobs, blob{sha: w.SHA256, size: w.Size, from: path, local: local[w.SHA256], uses: 1})
	}
	for _, path := range have.Paths() {
		if _, ok := want.Lookup(path); !ok {
			p.remove = append(p.remove, path)
		}
	}
	sort.Strings(p.remove)
	return p
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
