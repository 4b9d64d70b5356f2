package availability

import (
	"path"
	"slices"
	"strings"

	"github.com/pando-mirror/pando/internal/journal"
)

// A download through a symlink of the origin's tree ("releases/latest/x.iso"
// where releases/latest -> 1.0) names no object: objects are files. The map
// keeps the origin's symlinks, so that the redirector can answer such a
// request for the file the links lead to, sending it to a mirror that
// holds that file rather than to the fall-back.

// A Link is a symlink of the origin's live tree: its path and its target
// as published (relative to the link's directory; see journal.CheckTarget).
type Link struct {
	Path, Target string
}

// maxLinks bounds the symlinks followed for one path, as a kernel does.
const maxLinks = 8

// addLinks keeps the symlinks of state, in path order.
func (m *Map) addLinks(state *journal.State) {
	for e := range state.Entries() {
		if e.Kind == journal.Symlink {
			m.links = append(m.links, Link{Path: e.Path, Target: e.Target})
		}
	}
	slices.SortFunc(m.links, func(a, b Link) int { return strings.Compare(a.Path, b.Path) })
}

// link returns the target of the symlink at p.
func (m *Map) link(p string) (string, bool) {
	i, ok := slices.BinarySearchFunc(m.links, p, func(l Link, p string) int { return strings.Compare(l.Path, p) })
	if !ok {
		return "", false
	}
	return m.links[i].Target, true
}

// FollowLinks returns the path of the object p names through the origin's
// symlinks, keeping a ".meta4" suffix: p itself when p goes through no
// symlink (as an object's own path never does), loops, or leads to no
// object.
func (m *Map) FollowLinks(p string) string {
	if len(m.links) == 0 {
		return p
	}
	obj, suffix := p, ""
	if base, ok := strings.CutSuffix(p, ".meta4"); ok {
		obj, suffix = base, ".meta4"
	}
	resolved, ok := m.resolveLinks(obj)
	if !ok || resolved == obj {
		return p
	}
	if _, ok := m.Lookup(resolved); !ok {
		return p
	}
	return resolved + suffix
}

// resolveLinks returns p with every symlink on the way followed, or false
// when the links loop or go deeper than maxLinks. Publish refuses a link
// whose target leaves the tree, so a resolved path never does.
func (m *Map) resolveLinks(p string) (string, bool) {
	segs := strings.Split(p, "/")
	for links, i := 0, 0; i < len(segs); i++ {
		prefix := path.Join(segs[:i+1]...)
		target, ok := m.link(prefix)
		if !ok {
			continue
		}
		if links++; links > maxLinks {
			return "", false
		}
		segs = append(strings.Split(path.Join(path.Dir(prefix), target), "/"), segs[i+1:]...)
		i = -1 // walk the new path from its start
	}
	return path.Join(segs...), true
}
