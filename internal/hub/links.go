package hub

import (
	"net/http"
	"path"
	"strings"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/journal"
)

// A download through a symlink of the origin's tree ("releases/latest/x.iso"
// where releases/latest -> 1.0) names no object of the availability map,
// which holds files only. The hub follows the links in the origin's signed
// state and answers for the file they lead to, so such downloads go to a
// mirror (and are counted for that file) rather than to the fall-back.

// maxLinks bounds the symlinks followed for one path, as a kernel does.
const maxLinks = 8

// resolveLinks returns the path p names once every symlink on the way is
// followed in st, and whether that took any link. ok is false when the
// links loop or go deeper than maxLinks. Publish refuses a link whose
// target leaves the tree, so a resolved path never does.
func resolveLinks(st *journal.State, p string) (resolved string, followed, ok bool) {
	segs := strings.Split(p, "/")
	for links, i := 0, 0; i < len(segs); i++ {
		prefix := path.Join(segs[:i+1]...)
		e, live := st.Lookup(prefix)
		if !live || e.Kind != journal.Symlink {
			continue
		}
		if links++; links > maxLinks {
			return "", true, false
		}
		target := path.Join(path.Dir(prefix), e.Target)
		segs = append(strings.Split(target, "/"), segs[i+1:]...)
		i, followed = -1, true // walk the new path from its start
	}
	return path.Join(segs...), followed, true
}

// followLinks returns req with its path replaced by the file its symlinks
// lead to, when the path itself (or the object a .meta4 names) is not in
// m and its links lead to an object that is; otherwise req itself.
func followLinks(req *http.Request, m *availability.Map, st *journal.State) *http.Request {
	if m == nil || st == nil || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
		return req
	}
	p := strings.TrimPrefix(req.URL.Path, "/")
	if _, ok := m.Lookup(p); ok {
		return req
	}
	obj, suffix := p, ""
	if base, ok := strings.CutSuffix(p, ".meta4"); ok {
		obj, suffix = base, ".meta4"
	}
	if _, ok := m.Lookup(obj); ok || obj == "" {
		return req
	}
	resolved, followed, ok := resolveLinks(st, obj)
	if !ok || !followed {
		return req
	}
	if _, ok := m.Lookup(resolved); !ok {
		return req
	}
	r2 := req.Clone(req.Context())
	r2.URL.Path, r2.URL.RawPath = "/"+resolved+suffix, ""
	return r2
}
