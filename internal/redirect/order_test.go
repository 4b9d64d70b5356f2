package redirect_test

import (
	"testing"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/redirect"
)

func place(name, country string, weight int) *availability.Mirror {
	mi := &availability.Mirror{Name: name, Country: country, Weight: weight}
	if p, ok := geo.CountryPlace(country); ok {
		mi.Continent, mi.HasCoords, mi.Lat, mi.Lon = p.Continent, true, p.Lat, p.Lon
	}
	return mi
}

// TestRedirectOrderTiers checks that Order ranks mirrors by tier and
// distance as Select does.
func TestRedirectOrderTiers(t *testing.T) {
	ms := []*availability.Mirror{place("nowhere", "", 100), place("jp", "JP", 100), place("us", "US", 100),
		place("fr", "FR", 100), place("de", "DE", 100)}
	p, _ := geo.CountryPlace("DE")
	client := geo.Location{Country: "DE", Continent: "EU", Lat: p.Lat, Lon: p.Lon, HasCoords: true}
	var got []string
	for _, i := range redirect.Order(ms, client, redirect.SelectOptions{Rand: seeded(1)}) {
		got = append(got, ms[i].Name)
	}
	want := []string{"de", "fr", "us", "jp", "nowhere"}
	if len(got) != len(want) {
		t.Fatalf("Order = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Order = %v, want %v", got, want)
		}
	}
}

// TestRedirectOrderWeights checks that within a tier the first mirror is
// drawn in proportion to its weight.
func TestRedirectOrderWeights(t *testing.T) {
	ms := []*availability.Mirror{place("small", "DE", 100), place("big", "DE", 300), place("far", "JP", 1000)}
	client := geo.Location{Country: "DE", Continent: "EU"}
	src := seeded(7)
	const n = 4000
	first := map[string]int{}
	for range n {
		order := redirect.Order(ms, client, redirect.SelectOptions{Rand: src})
		first[ms[order[0]].Name]++
		if ms[order[2]].Name != "far" {
			t.Fatalf("far is not last: %v", order)
		}
	}
	if share := float64(first["big"]) / n; share < 0.70 || share > 0.80 {
		t.Errorf("big first in %.3f of draws, want about 0.75 (%v)", share, first)
	}
}
