package redirect

import (
	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/geo"
)

// Order returns the indices of ms in the order Select would rank them for
// a client at client if every one were a candidate: by tier (same ASN,
// country, continent, then by distance in bands, then unknown places),
// and within a tier and band in a weighted random order. It serves those
// who pick among whole mirrors rather than access points for one object,
// such as the DNS server.
func Order(ms []*availability.Mirror, client geo.Location, opts SelectOptions) []int {
	ents := make([]entry, len(ms))
	for i, mi := range ms {
		ents[i] = newEntry(i, mi)
		ents[i].n = 1 // access point 0 stands for the mirror
	}
	cs := gather(ents, newPlan(ents, client), nil, opts.bandWidth(), len(ents), nil)
	shuffleGroups(cs, len(cs), opts.Rand)
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = int(c.mirror)
	}
	return out
}
