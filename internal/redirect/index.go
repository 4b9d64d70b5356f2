package redirect

import (
	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
)

// An index is what selection needs of a map under one policy, computed
// once per map rather than per request: for each request scheme, the
// mirrors that can take a request at all (enabled, checked, trusted), each
// with its reachable access points of a scheme no weaker than the
// request's, preferred first; and, for the redirector, a cache of the
// order to try them in for each place clients come from (plan). Only
// whether an access point holds the object is left to check per request.
type index struct {
	m        *availability.Map
	insecure bool
	schemes  [2][]entry      // by request scheme: 0 http, 1 https
	asns     map[uint32]bool // the autonomous systems of the entries' mirrors
	plans    *planCache      // nil: plans are made per request
}

// An entry is one mirror that may take requests of a scheme.
type entry struct {
	mirror    int32
	n         int32    // access points in access and slot
	access    [3]int32 // indices in the mirror's access points, preferred first
	slot      [3]int32
	weight    float64
	country   string
	continent string
	asn       uint32
	coords    bool
	point     geo.Point // valid if coords
}

// newEntry returns the entry of mirror i, mi, without access points.
func newEntry(i int, mi *availability.Mirror) entry {
	return entry{mirror: int32(i), weight: float64(mi.Weight), country: mi.Country,
		continent: mi.Continent, asn: mi.ASN, coords: mi.HasCoords, point: geo.NewPoint(mi.Lat, mi.Lon)}
}

func schemeIndex(scheme string) int {
	if scheme == "https" {
		return 1
	}
	return 0
}

// newIndex indexes m for a policy that allows (or not) http mirrors for
// https requests, with a plan cache if cached (for an index that serves
// many requests).
func newIndex(m *availability.Map, allowInsecure, cached bool) *index {
	ix := &index{m: m, insecure: allowInsecure}
	if cached {
		ix.plans = newPlanCache()
	}
	mirrors := m.Mirrors()
	for i := range mirrors {
		mi := &mirrors[i]
		if !mi.Enabled() || !mi.Checked || !mi.Trusted {
			continue
		}
		for si, scheme := range []string{"http", "https"} {
			e := newEntry(i, mi)
			for _, want := range preference(scheme) {
				for j, a := range mi.Access {
					if a.Kind == want && a.Reachable && (scheme == "http" || a.Kind == config.AccessHTTPS || allowInsecure) {
						e.access[e.n], e.slot[e.n] = int32(j), int32(a.Slot)
						e.n++
					}
				}
			}
			if e.n > 0 {
				ix.schemes[si] = append(ix.schemes[si], e)
				if e.asn != 0 {
					if ix.asns == nil {
						ix.asns = make(map[uint32]bool)
					}
					ix.asns[e.asn] = true
				}
			}
		}
	}
	return ix
}

// preference lists access kinds for a request over scheme, best first: the
// request's own scheme, then https.
func preference(scheme string) []config.AccessKind {
	if scheme == "https" {
		return []config.AccessKind{config.AccessHTTPS, config.AccessHTTP}
	}
	return []config.AccessKind{config.AccessHTTP, config.AccessHTTPS}
}

// holding returns the index in e.access of the preferred access point
// that holds obj, or -1.
func (e *entry) holding(obj *availability.Object) int {
	for j := int32(0); j < e.n; j++ {
		if obj.Holds(int(e.slot[j])) {
			return int(j)
		}
	}
	return -1
}

// tier returns how near the mirror is to client.
func (e *entry) tier(client geo.Location) Tier {
	switch {
	case client.ASN != 0 && e.asn == client.ASN:
		return TierASN
	case client.Country != "" && e.country == client.Country:
		return TierCountry
	case client.Continent != "" && e.continent == client.Continent:
		return TierContinent
	case client.HasCoords && e.coords:
		return TierDistance
	}
	return TierAny
}
