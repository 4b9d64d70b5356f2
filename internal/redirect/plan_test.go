package redirect

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/geo"
)

// TestPlanCache checks that the plan cache gives the plan of the place
// asked about, from many goroutines and for more places than it holds.
func TestPlanCache(t *testing.T) {
	var ms []availability.Mirror
	for i, cc := range []string{"DE", "FR", "US", "JP", "BR", "ZA", "AU", ""} {
		p, _ := geo.CountryPlace(cc)
		ms = append(ms, availability.Mirror{Name: fmt.Sprint(i), Country: cc, Continent: p.Continent,
			HasCoords: cc != "", Lat: p.Lat, Lon: p.Lon, Weight: 10})
	}
	ix := &index{plans: newPlanCache()}
	for i := range ms {
		ix.schemes[1] = append(ix.schemes[1], newEntry(i, &ms[i]))
	}
	places := 3 * planSets * planWays
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range places {
				loc := geo.Location{Country: "XX", Continent: "EU", HasCoords: true,
					Lat: float64((i*7+g)%180 - 90), Lon: float64(i%360 - 180), ASN: uint32(i % 3)}
				got := ix.plan(1, loc)
				want := newPlan(ix.schemes[1], loc)
				if got.loc != ix.planPlace(loc) || !slices.Equal(got.order, want.order) {
					t.Errorf("plan for %+v: %+v, want %+v", loc, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestPlanIgnoresForeignASN: clients of one place in networks no mirror is
// in share one plan; a client in a mirror's network gets its own, with that
// mirror first.
func TestPlanIgnoresForeignASN(t *testing.T) {
	de, _ := geo.CountryPlace("DE")
	ms := []availability.Mirror{
		{Name: "a", Country: "DE", Continent: "EU", HasCoords: true, Lat: de.Lat, Lon: de.Lon, Weight: 10},
		{Name: "b", Country: "FR", Continent: "EU", ASN: 64500, Weight: 10},
	}
	ix := &index{plans: newPlanCache(), asns: map[uint32]bool{64500: true}}
	for i := range ms {
		ix.schemes[0] = append(ix.schemes[0], newEntry(i, &ms[i]))
	}
	at := func(asn uint32) geo.Location {
		return geo.Location{Country: "DE", Continent: "EU", HasCoords: true, Lat: 52.5, Lon: 13.4, ASN: asn}
	}
	p1, p2 := ix.plan(0, at(3320)), ix.plan(0, at(6805))
	if p1 != p2 || p1.loc.ASN != 0 {
		t.Errorf("clients of two foreign networks at one place: plans %p (ASN %d) and %p", p1, p1.loc.ASN, p2)
	}
	if p1.order[0].tier != TierCountry || p1.order[0].entry != 0 {
		t.Errorf("foreign network's plan starts with %+v, want mirror a in the country tier", p1.order[0])
	}
	own := ix.plan(0, at(64500))
	if own == p1 || own.order[0].tier != TierASN || own.order[0].entry != 1 {
		t.Errorf("client in b's network: plan %+v, want b first in the ASN tier", own.order)
	}
}

// BenchmarkPlanMiss is what a request from a place the plan cache does not
// hold costs more: a plan for 60 mirrors, half of them beyond the client's
// continent.
func BenchmarkPlanMiss(b *testing.B) {
	var ents []entry
	for i := range 60 {
		cc := []string{"DE", "FR", "US", "JP", "BR", "ZA"}[i%6]
		p, _ := geo.CountryPlace(cc)
		mi := availability.Mirror{Country: cc, Continent: p.Continent, HasCoords: true, Lat: p.Lat, Lon: p.Lon, Weight: 10}
		ents = append(ents, newEntry(i, &mi))
	}
	loc := geo.Location{Country: "AR", Continent: "SA", Lat: -34, Lon: -58, HasCoords: true}
	b.ReportAllocs()
	for b.Loop() {
		newPlan(ents, loc)
	}
}

// TestSortByDistance checks the key sort against a plain sort by distance
// and entry, with ties, for tiers that fit the stack buffers and larger.
func TestSortByDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 17, 64, 65, 300} {
		d := make([]planned, n)
		for i := range d {
			d[i] = planned{entry: int32(i * 3), tier: TierDistance, dist: float64(rng.IntN(40)) * 250.5}
			if i%5 == 0 { // closer to another than float32 tells apart
				d[i].dist = 10000 + float64(rng.IntN(3))*0.0002
			}
		}
		want := slices.Clone(d)
		slices.SortFunc(want, func(a, b planned) int {
			return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.entry, b.entry))
		})
		sortByDistance(d)
		if !slices.Equal(d, want) {
			t.Errorf("%d entries: %v, want %v", n, d, want)
		}
	}
}
