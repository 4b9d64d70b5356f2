package dnsserver

import (
	"net/netip"
	"slices"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/redirect"
)

// rank orders ts for a client at loc as the redirector orders mirrors
// (redirect.Order): by tier (same ASN, country, continent, then by
// distance in bands, then unknown places) and within a tier and band in a
// weighted random order.
func rank(ts []target, loc geo.Location) []*target {
	ms := make([]*availability.Mirror, len(ts))
	for i := range ts {
		ms[i] = ts[i].mirror
	}
	out := make([]*target, 0, len(ts))
	for _, i := range redirect.Order(ms, loc, redirect.SelectOptions{}) {
		out = append(out, &ts[i])
	}
	return out
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
