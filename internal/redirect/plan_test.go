package redirect

import (
	"fmt"
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
				if got.loc != loc || !slices.Equal(got.order, want.order) {
					t.Errorf("plan for %+v: %+v, want %+v", loc, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
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
