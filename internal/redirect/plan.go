package redirect

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/pando-mirror/pando/internal/geo"
)

// A plan is the order in which ranking tries the entries of one request
// scheme for clients at one place: by tier, and within TierDistance by
// distance, nearest first. What varies per request, whether each entry
// holds the object and the random draws, is left to rank.
type plan struct {
	loc   geo.Location
	order []planned
}

// A planned entry is an entry with its tier and distance from the client.
type planned struct {
	entry int32 // index in the index's entries for the scheme
	tier  Tier
	dist  float64 // km; valid in TierDistance
}

// newPlan orders ents for a client at loc: grouped by tier in registry
// order, the distance tier sorted by distance.
func newPlan(ents []entry, loc geo.Location) *plan {
	var pt geo.Point
	if loc.HasCoords {
		pt = geo.NewPoint(loc.Lat, loc.Lon)
	}
	var starts [TierAny + 2]int // where each tier begins in the plan, then the end
	tiers := make([]Tier, len(ents))
	for i := range ents {
		tiers[i] = ents[i].tier(loc)
		starts[tiers[i]+1]++
	}
	for t := TierASN; t <= TierAny; t++ {
		starts[t+1] += starts[t]
	}
	p := &plan{loc: loc, order: make([]planned, len(ents))}
	next := starts
	for i := range ents {
		t := tiers[i]
		pe := planned{entry: int32(i), tier: t}
		if t == TierDistance {
			pe.dist = pt.DistanceKm(ents[i].point)
		}
		p.order[next[t]] = pe
		next[t]++
	}
	sortByDistance(p.order[starts[TierDistance]:starts[TierDistance+1]])
	return p
}

// sortByDistance sorts d, which is in entry order, by distance, nearest
// first, and by entry among equals. It sorts integer keys, the distance's
// float32 bits (which order like the distances do, to a metre or two)
// above the entry's place in d, which is several times faster than sorting
// the entries themselves with a comparison function (a plan for a new
// place is worked out while its request waits), and then puts right the
// rare neighbours closer than float32 tells apart.
func sortByDistance(d []planned) {
	var keyBuf [64]uint64
	var tmpBuf [64]planned
	keys, tmp := keyBuf[:0], tmpBuf[:0]
	if len(d) > len(keyBuf) {
		keys, tmp = make([]uint64, 0, len(d)), make([]planned, 0, len(d))
	}
	for i := range d {
		keys = append(keys, uint64(math.Float32bits(float32(d[i].dist)))<<32|uint64(i))
	}
	slices.Sort(keys)
	tmp = append(tmp, d...)
	for i, k := range keys {
		d[i] = tmp[uint32(k)]
	}
	for i := 1; i < len(d); i++ { // an insertion sort: linear on sorted input
		for j := i; j > 0 && closer(d[j], d[j-1]); j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// closer reports whether a comes before b in a distance tier.
func closer(a, b planned) bool {
	return a.dist < b.dist || a.dist == b.dist && a.entry < b.entry
}

// planSets is the number of sets of planWays plans a planCache keeps per
// scheme.
const (
	planSets = 512
	planWays = 2
)

// A planCache keeps the plans of the places clients came from, so that a
// request from a place seen before costs no tier or distance computation.
// It is set-associative and lock-free: a place hashes to a set, and a new
// plan takes an empty way of its set or else a random one, so that two
// places of one set do not keep pushing each other out.
type planCache struct {
	seed maphash.Seed
	sets [2][planSets][planWays]atomic.Pointer[plan] // by scheme index
}

func newPlanCache() *planCache { return &planCache{seed: maphash.MakeSeed()} }

// planPlace returns what of loc a plan depends on. A client's autonomous
// system puts a mirror in TierASN only if the mirror shares it, so for the
// clients of networks no mirror is in it is dropped: all the clients of one
// place then share one plan, whatever their network, which an ASN database
// would otherwise split into a plan per network.
func (ix *index) planPlace(loc geo.Location) geo.Location {
	if loc.ASN != 0 && !ix.asns[loc.ASN] {
		loc.ASN = 0
	}
	return loc
}

// plan returns the plan of the entries for scheme index si at loc, from
// the index's cache if it has one.
func (ix *index) plan(si int, loc geo.Location) *plan {
	loc = ix.planPlace(loc)
	c := ix.plans
	if c == nil {
		return newPlan(ix.schemes[si], loc)
	}
	set := &c.sets[si][maphash.Comparable(c.seed, loc)%planSets]
	way := -1
	for i := range set {
		switch p := set[i].Load(); {
		case p == nil:
			way = i
		case p.loc == loc:
			return p
		}
	}
	if way < 0 {
		way = rand.IntN(planWays)
	}
	p := newPlan(ix.schemes[si], loc)
	set[way].Store(p)
	return p
}
