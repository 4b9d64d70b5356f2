package dnsserver

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"

	"github.com/pando-mirror/pando/internal/geo"
)

// distanceBand is the width of the distance bands mirrors beyond the
// client's continent are grouped in, as in the redirector.
const distanceBand = 500.0 // km

// The tiers, nearest first, as in the redirector.
const (
	tierASN = iota
	tierCountry
	tierContinent
	tierDistance
	tierAny
)

type ranked struct {
	t    *target
	tier int
	band int
	key  float64 // weighted random key: larger first within a tier and band
}

// rank orders ts for a client at loc: by tier (same ASN, country,
// continent, then by distance in bands, then unknown places) and within a
// tier and band in a weighted random order (each one first with
// probability weight / sum of weights; Efraimidis and Spirakis' keys).
func rank(ts []target, loc geo.Location) []*target {
	rs := make([]ranked, len(ts))
	nearest := math.Inf(1)
	dists := make([]float64, len(ts))
	for i := range ts {
		t := &ts[i]
		rs[i] = ranked{t: t, tier: tierOf(t, loc), key: math.Pow(1-rand.Float64(), 1/float64(max(t.mirror.Weight, 1)))}
		if rs[i].tier == tierDistance {
			dists[i] = geo.DistanceKm(loc.Lat, loc.Lon, t.mirror.Lat, t.mirror.Lon)
			nearest = min(nearest, dists[i])
		}
	}
	for i := range rs {
		if rs[i].tier == tierDistance {
			rs[i].band = int((dists[i] - nearest) / distanceBand)
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.tier != b.tier {
			return a.tier < b.tier
		}
		if a.band != b.band {
			return a.band < b.band
		}
		return a.key > b.key
	})
	out := make([]*target, len(rs))
	for i := range rs {
		out[i] = rs[i].t
	}
	return out
}

func tierOf(t *target, loc geo.Location) int {
	mi := t.mirror
	switch {
	case loc.ASN != 0 && mi.ASN == loc.ASN:
		return tierASN
	case loc.Country != "" && mi.Country == loc.Country:
		return tierCountry
	case loc.Continent != "" && mi.Continent == loc.Continent:
		return tierContinent
	case loc.HasCoords && mi.HasCoords:
		return tierDistance
	}
	return tierAny
}

// pick returns up to n addresses of the family wanted (IPv4 if v4) from
// the ranked mirrors: one address of each mirror in turn, then a second
// of each that has more, and so on, so that an answer names as many
// mirrors as it can; an address is named once.
func pick(order []*target, v4 bool, n int) []netip.Addr {
	var out []netip.Addr
	for round := 0; len(out) < n; round++ {
		more := false
		for _, t := range order {
			fam := family(t.addrs, v4)
			if round < len(fam) {
				more = true
				if len(out) < n && !slices.Contains(out, fam[round]) {
					out = append(out, fam[round]) // mirrors may share a host
				}
			}
		}
		if !more {
			break
		}
	}
	return out
}

func family(addrs []netip.Addr, v4 bool) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if a.Is4() == v4 {
			out = append(out, a)
		}
	}
	return out
}
