// Package availability owns the availability map: an immutable, compiled
// snapshot of which mirror holds which object of the origin's live tree at
// its current version, with what the redirector needs to know about each
// mirror (weight, place, access points, health).
//
// The hub compiles a Map from the origin's verified log, the mirror registry
// and the checker's results (Compile), serves from it and swaps in a new one
// atomically after every pass. Edge redirectors, which have no store, load a
// signed copy (Encode, Decode); the file format is specified in format.go
// and docs/REDIRECT.md.
//
// A mirror "holds" an object over an access point only if the checker
// verified it there at the object's current journal record, with the
// record's size and SHA-256. A mirror not yet checked for a new object has
// no bit for it and so gets no download of it.
package availability

import (
	"time"

	"github.com/pando-mirror/pando/internal/config"
)

// An Access is one access point of a mirror that downloads can be sent to.
type Access struct {
	Kind      config.AccessKind // http, https or ftp
	URL       string            // prefix of the tree, ending in "/"
	Reachable bool              // the latest check reached it at this URL
	Slot      int               // its position in every object's holder set
}

// A Mirror is what the map knows about one mirror of the registry.
type Mirror struct {
	Name      string
	Weight    int    // 0: disabled
	Country   string // ISO 3166-1 alpha-2, or ""
	Continent string // AF, AN, AS, EU, NA, OC, SA, or ""
	HasCoords bool   // Lat and Lon are known (given, or the country's point)
	Lat, Lon  float64
	ASN       uint32 // 0 when unknown
	Checked   bool   // the checker has results for it
	Trusted   bool   // its latest results show no tampering
	Problem   string // why it is not trusted, or not checked; "" otherwise
	Access    []Access
}

// Enabled reports whether downloads may be sent to the mirror at all.
func (m *Mirror) Enabled() bool { return m.Weight > 0 }

// Healthy reports whether the mirror takes downloads: enabled, checked,
// trusted and with at least one reachable access point.
func (m *Mirror) Healthy() bool {
	if !m.Enabled() || !m.Checked || !m.Trusted {
		return false
	}
	for _, a := range m.Access {
		if a.Reachable {
			return true
		}
	}
	return false
}

// An Object is one live file of the origin and where it is held. It is a
// view into its Map.
type Object struct {
	Path    string
	Size    int64
	Record  int64 // index of the journal record that put this version in place
	SHA256  [32]byte
	holders []uint64
}

// Holds reports whether the access point with this slot holds the object
// at its current version.
func (o Object) Holds(slot int) bool {
	w := slot >> 6
	return slot >= 0 && w < len(o.holders) && o.holders[w]&(1<<(slot&63)) != 0
}

// A Map is an immutable availability snapshot. Its methods are safe for
// concurrent use.
type Map struct {
	origin   string
	records  int64
	created  time.Time
	fallback string
	mirrors  []Mirror
	slots    int // access points across all mirrors
	words    int // uint64 words of holder bits per object

	paths   []string // sorted, unique
	index   pathIndex
	files   []file   // by object, in path order
	holders []uint64 // len(paths)*words

	links []Link // the origin's symlinks, by path
}

// A file is what a map knows of one object besides its path and holders,
// kept together so that a lookup touches one place for them.
type file struct {
	size   int64
	record int64
	sha256 [32]byte
}

// Origin returns the name of the origin (its signing key's name).
func (m *Map) Origin() string { return m.origin }

// Records returns the number of journal records of the origin's state the
// map was compiled against.
func (m *Map) Records() int64 { return m.records }

// Created returns when the map was compiled.
func (m *Map) Created() time.Time { return m.created }

// Fallback returns the URL prefix (ending in "/") where requests go that no
// mirror can serve, or "" if the map names none.
func (m *Map) Fallback() string { return m.fallback }

// WithFallback returns a copy of m that names fallback (a URL prefix ending
// in "/") as its fall-back. m is unchanged; the copy shares its data.
func (m *Map) WithFallback(fallback string) *Map {
	c := *m
	c.fallback = fallback
	return &c
}

// Mirrors returns every mirror of the registry in registry order. The
// caller must not modify the result.
func (m *Map) Mirrors() []Mirror { return m.mirrors }

// HealthyMirrors returns the mirrors that take downloads (Mirror.Healthy),
// in registry order.
func (m *Map) HealthyMirrors() []Mirror {
	var out []Mirror
	for i := range m.mirrors {
		if m.mirrors[i].Healthy() {
			out = append(out, m.mirrors[i])
		}
	}
	return out
}

// Slots returns the number of access points across all mirrors.
func (m *Map) Slots() int { return m.slots }

// Len returns the number of objects.
func (m *Map) Len() int { return len(m.paths) }

// Lookup returns the live file at path (slash-separated, no leading
// slash). It takes O(1) time (a hash table probe) and does not allocate.
func (m *Map) Lookup(path string) (Object, bool) {
	i := m.index.find(m.paths, path)
	if i < 0 {
		return Object{}, false
	}
	return m.object(i), true
}

// object returns the i-th object in path order.
func (m *Map) object(i int) Object {
	return Object{
		Path: m.paths[i], Size: m.files[i].size, Record: m.files[i].record, SHA256: m.files[i].sha256,
		holders: m.holders[i*m.words : (i+1)*m.words : (i+1)*m.words],
	}
}

// Objects calls f for every object in path order until f returns false.
func (m *Map) Objects(f func(Object) bool) {
	for i := range m.paths {
		if !f(m.object(i)) {
			return
		}
	}
}

// Holders returns how many objects each slot holds, indexed by slot.
func (m *Map) Holders() []int {
	n := make([]int, m.slots)
	for i := range m.paths {
		o := m.object(i)
		for s := range n {
			if o.Holds(s) {
				n[s]++
			}
		}
	}
	return n
}

func wordsFor(slots int) int { return (slots + 63) / 64 }
