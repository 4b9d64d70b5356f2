package redirect

import (
	"math/rand/v2"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
)

// DefaultDistanceBand is the width of the distance bands candidates beyond
// the client's continent are grouped in: mirrors within it of the nearest
// one share its downloads by weight.
const DefaultDistanceBand = 500.0 // km

// A Tier says how near a candidate is to the client; lower is nearer.
type Tier int

// The tiers, nearest first.
const (
	TierASN       Tier = iota // in the client's autonomous system
	TierCountry               // in the client's country
	TierContinent             // on the client's continent
	TierDistance              // elsewhere, ranked by distance
	TierAny                   // where the client or the mirror is, is not known
)

func (t Tier) String() string {
	switch t {
	case TierASN:
		return "asn"
	case TierCountry:
		return "country"
	case TierContinent:
		return "continent"
	case TierDistance:
		return "distance"
	}
	return "any"
}

// A Candidate is a mirror that can serve a request, with the access point
// chosen for it.
type Candidate struct {
	Mirror      *availability.Mirror // points into the map
	Access      availability.Access
	URL         string // the object's URL at the access point
	Tier        Tier
	Band        int     // distance band within TierDistance, from 0
	DistanceKm  float64 // valid if HasDistance
	HasDistance bool
}

// cand is a candidate while ranking: small and free of pointers, so that
// ordering them is cheap.
type cand struct {
	mirror int32 // index in the map's mirrors
	access int32 // index in the mirror's access points
	band   int32 // distance band in TierDistance
	tier   Tier
	weight float64
}

// A Reason says why a mirror is not a candidate.
type Reason string

// The reasons, in the order Select checks them.
const (
	Disabled    Reason = "disabled"                         // weight 0
	NotChecked  Reason = "not checked yet"                  // no results from the checker
	Untrusted   Reason = "untrusted"                        // tampering seen in its latest results
	NoAccess    Reason = "no http or https access point"    // only ftp (or nothing) to redirect to
	Insecure    Reason = "scheme weaker than the request's" // http only, for an https request
	Unreachable Reason = "unreachable"                      // the latest check could not reach it
	NotHeld     Reason = "not verified to hold this version"
)

// An Exclusion is a mirror that is not a candidate, and why.
type Exclusion struct {
	Mirror string
	Reason Reason
	Detail string // more about the reason, e.g. the problem seen
}

// SelectOptions is the policy of Select.
type SelectOptions struct {
	AllowInsecure bool        // an https request may go to an http mirror
	DistanceBand  float64     // km; 0 means DefaultDistanceBand
	Rand          rand.Source // nil: the runtime's random numbers; must be safe for concurrent use if shared
}

// Select ranks the mirrors of m for a request for obj from a client at
// client over scheme ("http" or "https"). chosen is in order of preference:
// chosen[0] is the mirror to send the client to, the rest alternatives.
// excluded names every other mirror and why.
//
// Candidates are the enabled, trusted mirrors that were verified to hold
// obj at its current version over an access point the latest check reached
// whose scheme is no weaker than the request's: https for https (or also
// http with AllowInsecure); http or https for http, preferring the
// request's own scheme. They are ranked by tier (same ASN, same country,
// same continent, then by distance in bands of DistanceBand, then unknown
// places), and within a tier and band in a weighted random order, so that
// the first is each candidate with probability weight/(sum of weights).
func Select(m *availability.Map, obj availability.Object, client geo.Location, scheme string, opts SelectOptions) ([]Candidate, []Exclusion) {
	mirrors := m.Mirrors()
	ranked := rank(newIndex(m, opts.AllowInsecure, false), obj, client, scheme, opts, len(mirrors), nil)
	chosen := make([]Candidate, len(ranked))
	isCandidate := make([]bool, len(mirrors))
	for i, c := range ranked {
		mi := &mirrors[c.mirror]
		a := mi.Access[c.access]
		isCandidate[c.mirror] = true
		chosen[i] = Candidate{Mirror: mi, Access: a, URL: objectURL(a.URL, obj.Path), Tier: c.tier, Band: int(c.band)}
		if client.HasCoords && mi.HasCoords {
			chosen[i].DistanceKm, chosen[i].HasDistance = geo.DistanceKm(client.Lat, client.Lon, mi.Lat, mi.Lon), true
		}
	}
	var excluded []Exclusion
	for i := range mirrors {
		if !isCandidate[i] {
			_, reason, detail := eligible(&mirrors[i], obj, scheme, opts.AllowInsecure)
			excluded = append(excluded, Exclusion{Mirror: mirrors[i].Name, Reason: reason, Detail: detail})
		}
	}
	return chosen, excluded
}

// rank appends to dst the first k candidates for obj in preference order.
// It walks the plan for the client's place (entries by tier and distance)
// and gathers the entries that hold obj, stopping at the end of the tier,
// or distance band, that the k-th comes from; only those groups are put
// in a weighted random order.
func rank(ix *index, obj availability.Object, client geo.Location, scheme string, opts SelectOptions, k int, dst []cand) []cand {
	si := schemeIndex(scheme)
	start := len(dst)
	dst = gather(ix.schemes[si], ix.plan(si, client), &obj, opts.bandWidth(), k, dst)
	cs := dst[start:]
	shuffleGroups(cs, k, opts.Rand)
	return dst[:start+min(k, len(cs))]
}

// gather appends to dst, in the order of plan p, the entries of ents that
// hold obj (each over its preferred access point that does; every entry
// over its first if obj is nil), with their distance bands, up to the end
// of the group the k-th comes from.
func gather(ents []entry, p *plan, obj *availability.Object, width float64, k int, dst []cand) []cand {
	n, nearest := 0, -1.0
	var last cand // the group of the last one gathered
	for i := range p.order {
		pe := &p.order[i]
		e := &ents[pe.entry]
		a := 0
		if obj != nil {
			if a = e.holding(obj); a < 0 {
				continue
			}
		}
		var band int32
		if pe.tier == TierDistance {
			if nearest < 0 {
				nearest = pe.dist
			}
			band = int32((pe.dist - nearest) / width)
		}
		if n >= k && (n == 0 || pe.tier != last.tier || band != last.band) {
			break
		}
		last = cand{mirror: e.mirror, access: e.access[a], band: band, tier: pe.tier, weight: e.weight}
		dst = append(dst, last)
		n++
	}
	return dst
}

// bandWidth is the width of the distance bands, in km.
func (o SelectOptions) bandWidth() float64 {
	if o.DistanceBand <= 0 {
		return DefaultDistanceBand
	}
	return o.DistanceBand
}

// sameGroup reports whether a and b share a tier and, in TierDistance, a
// distance band: the group a weighted draw picks among.
func sameGroup(a, b cand) bool { return a.tier == b.tier && a.band == b.band }

// shuffleGroups puts the first k places of cs in order. cs is sorted by
// tier and band; within each group each place goes to one of the
// candidates left with probability proportional to its weight (successive
// weighted sampling without replacement). The first candidate is thus each
// one of the best group with probability weight / (sum of the group's
// weights).
func shuffleGroups(cs []cand, k int, src rand.Source) {
	for start := 0; start < len(cs) && start < k; {
		end := start + 1
		for end < len(cs) && sameGroup(cs[end], cs[start]) {
			end++
		}
		shuffle(cs[start:end], min(k-start, end-start), src)
		start = end
	}
}

// eligible returns the index of the access point of mi to send the request
// to, or why there is none. Ranking uses an index that applies the same
// rules once per map; eligible explains, for the mirror list, why a mirror
// is not a candidate.
func eligible(mi *availability.Mirror, obj availability.Object, scheme string, allowInsecure bool) (int, Reason, string) {
	switch {
	case !mi.Enabled():
		return -1, Disabled, ""
	case !mi.Checked:
		return -1, NotChecked, ""
	case !mi.Trusted:
		return -1, Untrusted, mi.Problem
	}
	best, bestLevel := -1, -1
	for i, a := range mi.Access {
		level := accessLevel(a, obj, scheme, allowInsecure)
		if level == levelOK {
			if best < 0 || preferred(a.Kind, mi.Access[best].Kind, scheme) {
				best = i
			}
			continue
		}
		bestLevel = max(bestLevel, level)
	}
	if best >= 0 {
		return best, "", ""
	}
	return -1, levelReason(bestLevel), ""
}

// How far an access point gets through the checks.
const (
	levelNoAccess = iota
	levelInsecure
	levelUnreachable
	levelNotHeld
	levelOK
)

// levelReason is why an access point that got to level l is not used.
func levelReason(l int) Reason {
	switch l {
	case levelInsecure:
		return Insecure
	case levelUnreachable:
		return Unreachable
	case levelNotHeld:
		return NotHeld
	}
	return NoAccess
}

func accessLevel(a availability.Access, obj availability.Object, scheme string, allowInsecure bool) int {
	switch {
	case a.Kind != config.AccessHTTP && a.Kind != config.AccessHTTPS:
		return levelNoAccess
	case scheme == "https" && a.Kind == config.AccessHTTP && !allowInsecure:
		return levelInsecure
	case !a.Reachable:
		return levelUnreachable
	case !obj.Holds(a.Slot):
		return levelNotHeld
	}
	return levelOK
}

// preferred reports whether kind k beats kind old for a request over
// scheme: the request's own scheme first, then https.
func preferred(k, old config.AccessKind, scheme string) bool {
	if string(old) == scheme {
		return false
	}
	return string(k) == scheme || k == config.AccessHTTPS
}

// shuffle fills the first picks places of g by successive weighted draws.
func shuffle(g []cand, picks int, src rand.Source) {
	total := 0.0
	for _, c := range g {
		total += c.weight
	}
	for i := 0; i < picks && i < len(g)-1; i++ {
		r := uniform(src) * total
		j := i
		for ; j < len(g)-1; j++ {
			if r -= g[j].weight; r < 0 {
				break
			}
		}
		total -= g[j].weight
		g[i], g[j] = g[j], g[i]
	}
}

// uniform returns a random number in [0, 1).
func uniform(src rand.Source) float64 {
	var x uint64
	if src != nil {
		x = src.Uint64()
	} else {
		x = rand.Uint64()
	}
	return float64(x>>11) / (1 << 53)
}
