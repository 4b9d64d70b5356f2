package availability

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/store"
)

// untrusting reports whether a problem of kind k means a mirror serves bytes
// or a log other than the origin's: one in a mirror's latest result keeps
// every download away from it until a check comes back clean.
func untrusting(k store.ProblemKind) bool {
	switch k {
	case store.Hash, store.Fork, store.Rollback, store.BadSignature:
		return true
	}
	return false
}

// Compile builds the map of origin's live files over mirrors (the registry,
// in order), given each mirror's latest result (for health) and its object
// states (keyed by mirror name, for holdings). created is recorded, to the
// second, as the map's creation time.
//
// An access point holds an object when its state is OK and names the
// object's current record, size and SHA-256, and the latest result checked
// the access point at the URL the registry has now. Results and states of
// mirrors no longer in the registry are ignored.
func Compile(origin *logdir.Log, mirrors []config.Mirror, latest []store.MirrorResult,
	objects map[string][]store.ObjectState, created time.Time) *Map {
	// Reading states from memory cannot fail, nor can a context that is
	// never canceled.
	m, _ := CompileFrom(context.Background(), origin, mirrors, latest, statesIn(objects), created)
	return m
}

// A StateReader calls fn with each object state recorded for one mirror,
// and stops at fn's first error; store.Store's EachObject is one.
type StateReader func(ctx context.Context, mirror string, fn func(store.ObjectState) error) error

// CompileFrom is Compile with the object states read one mirror at a time
// from read (by several goroutines at once), so that they are never all
// held: a store of 75,000 objects at 60 mirrors has millions. It fails
// only when read does (as a store's reader does when ctx ends); the first
// failure cancels the other reads.
func CompileFrom(ctx context.Context, origin *logdir.Log, mirrors []config.Mirror, latest []store.MirrorResult,
	read StateReader, created time.Time) (*Map, error) {
	m := &Map{origin: origin.Checkpoint.Origin, records: origin.N(), created: created.Truncate(time.Second).UTC()}
	results := make(map[string]*store.MirrorResult, len(latest))
	for i := range latest {
		results[latest[i].Mirror] = &latest[i]
	}
	for _, cm := range mirrors {
		m.mirrors = append(m.mirrors, compileMirror(cm, results[cm.Name], &m.slots))
	}
	m.words = wordsFor(m.slots)
	hexes := m.addFiles(origin.State)
	m.addLinks(origin.State)
	if err := m.addHoldings(ctx, results, read, hexes); err != nil {
		return nil, err
	}
	return m, nil
}

// statesIn returns a StateReader over states held in memory.
func statesIn(objects map[string][]store.ObjectState) StateReader {
	return func(ctx context.Context, mirror string, fn func(store.ObjectState) error) error {
		for _, st := range objects[mirror] {
			if err := fn(st); err != nil {
				return err
			}
		}
		return nil
	}
}

// compileMirror describes one registry mirror, numbering its access points
// from *slots on.
func compileMirror(cm config.Mirror, res *store.MirrorResult, slots *int) Mirror {
	mi := Mirror{Name: cm.Name, Weight: cm.Weight, Country: cm.Country, Continent: cm.Continent, ASN: cm.ASN}
	place, known := geo.CountryPlace(cm.Country)
	if mi.Continent == "" && known {
		mi.Continent = place.Continent
	}
	switch {
	case cm.HasCoords:
		mi.HasCoords, mi.Lat, mi.Lon = true, cm.Latitude, cm.Longitude
	case known:
		mi.HasCoords, mi.Lat, mi.Lon = true, place.Lat, place.Lon
	}
	mi.Checked = res != nil
	mi.Trusted, mi.Problem = trust(res)
	for _, ap := range cm.Access() {
		if ap.Kind == config.AccessRsync {
			continue // never a redirect target
		}
		a := Access{Kind: ap.Kind, URL: ap.URL, Slot: *slots}
		if r := accessResult(res, ap); r != nil {
			a.Reachable = r.Reachable
		}
		mi.Access = append(mi.Access, a)
		*slots++
	}
	return mi
}

// trust reports whether a mirror's latest result shows no sign of serving
// other bytes or another log than the origin's, and otherwise why.
func trust(res *store.MirrorResult) (bool, string) {
	if res == nil {
		return false, "not checked yet"
	}
	for _, p := range res.Problems {
		if untrusting(p.Kind) {
			s := string(p.Kind) + " problem"
			if p.Access != "" {
				s += " over " + p.Access
			}
			if p.Path != "" {
				s += " at " + p.Path
			}
			return false, s
		}
	}
	return true, ""
}

// accessResult returns the latest result for access point ap, or nil if
// there is none for its kind at its current URL.
func accessResult(res *store.MirrorResult, ap config.AccessPoint) *store.AccessResult {
	if res == nil {
		return nil
	}
	for i := range res.Access {
		if a := &res.Access[i]; a.Access == string(ap.Kind) && a.URL == ap.URL {
			return a
		}
	}
	return nil
}

// addFiles adds the live regular files of state, in path order, and returns
// their SHA-256 sums in lowercase hex, as object states name them.
func (m *Map) addFiles(state *journal.State) []string {
	paths := state.Paths()
	n := 0
	for _, p := range paths {
		e, _ := state.Lookup(p)
		if e.Kind != journal.File {
			continue
		}
		paths[n] = p
		m.files = append(m.files, file{size: e.Size, record: e.Index, sha256: e.SHA256})
		n++
	}
	m.paths = slices.Clip(paths[:n])
	m.index = newPathIndex(m.paths)
	m.holders = make([]uint64, n*m.words)
	hexes := make([]string, n)
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			hexes[i] = hex.EncodeToString(m.files[i].sha256[:])
		}
	})
	return hexes
}

// parallel calls f on ranges covering [0, n), on up to GOMAXPROCS
// goroutines, and waits for them.
func parallel(n int, f func(lo, hi int)) {
	chunk := max((n+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0), 1)
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Go(func() { f(lo, min(lo+chunk, n)) })
	}
	wg.Wait()
}

// addHoldings sets the holder bits of every mirror's verified objects.
// Mirrors are worked on in parallel, each into bit columns of its own
// access points, which are then turned into the per-object rows, again in
// parallel over ranges of objects: no two goroutines write the same word.
func (m *Map) addHoldings(ctx context.Context, results map[string]*store.MirrorResult, read StateReader, hexes []string) error {
	cols := make([][]uint64, m.slots)
	workers := min(runtime.GOMAXPROCS(0), maxReaders, max(len(m.mirrors), 1))
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range workers {
		g.Go(func() error {
			sn := seen{paths: slices.Clone(m.paths), sums: slices.Clone(hexes)}
			for i := int(next.Add(1) - 1); i < len(m.mirrors); i = int(next.Add(1) - 1) {
				if err := ctx.Err(); err != nil {
					return err // another worker failed
				}
				mi := &m.mirrors[i]
				if err := m.mirrorHoldings(ctx, mi, results[mi.Name], read, &sn, cols); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	parallel((len(m.paths)+63)/64, func(lo, hi int) { m.transpose(cols, lo, hi) })
	return nil
}

// maxReaders bounds the mirrors whose states are read at once: each read
// holds one of the store's connections for as long as it streams, and the
// API, the checker and the stats intake need some left.
const maxReaders = 4

// A seen holds, per object, the path and hash strings one worker compares
// states with: the map's own at first, then the last state's found equal.
// A store interns the strings of its states, so the states of the next
// mirrors hold the very same strings, and comparing them is a pointer
// comparison rather than a read of both strings.
type seen struct{ paths, sums []string }

// mirrorHoldings sets, in cols, the bits of the objects mi's access points
// were verified to hold, as read gives mi's states. It writes only the
// columns of mi's slots.
func (m *Map) mirrorHoldings(ctx context.Context, mi *Mirror, res *store.MirrorResult, read StateReader, sn *seen, cols [][]uint64) error {
	var slot [4]int // by kind code; -1: no results at the access point's URL
	for i := range slot {
		slot[i] = -1
	}
	counted := false
	for _, a := range mi.Access {
		if accessResult(res, config.AccessPoint{Kind: a.Kind, URL: a.URL}) != nil {
			slot[kindCode(a.Kind)] = a.Slot
			cols[a.Slot] = make([]uint64, (len(m.paths)+63)/64)
			counted = true
		}
	}
	if !counted {
		return nil // no state of mi could count: not worth reading
	}
	next := 0 // states usually come in path order: try the next object first
	return read(ctx, mi.Name, func(st store.ObjectState) error {
		s := slot[kindCode(config.AccessKind(st.Access))]
		if s < 0 || !st.OK {
			return nil
		}
		j := next
		if j >= len(m.paths) || sn.paths[j] != st.Path {
			if j = m.index.find(m.paths, st.Path); j < 0 {
				return nil
			}
		}
		sn.paths[j], next = st.Path, j+1
		if f := &m.files[j]; st.Record == f.record && st.Size == f.size && st.SHA256 == sn.sums[j] {
			sn.sums[j] = st.SHA256
			cols[s][j>>6] |= 1 << (j & 63)
		}
		return nil
	})
}

// transpose sets the holder rows of the objects in column words [lo, hi).
func (m *Map) transpose(cols [][]uint64, lo, hi int) {
	for s, col := range cols {
		if col == nil {
			continue
		}
		bit := uint64(1) << (s & 63)
		for w := lo; w < hi; w++ {
			for x := col[w]; x != 0; x &= x - 1 {
				j := w*64 + bits.TrailingZeros64(x)
				m.holders[j*m.words+(s>>6)] |= bit
			}
		}
	}
}

// String summarizes the map for logs.
func (m *Map) String() string {
	return fmt.Sprintf("%s at %d records: %d objects, %d mirrors, %d access points, compiled %s",
		m.origin, m.records, len(m.paths), len(m.mirrors), m.slots, m.created.Format(time.RFC3339))
}
