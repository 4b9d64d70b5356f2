package geo_test

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/geo/geotest"
)

func openTestDB(t *testing.T) *geo.DB {
	t.Helper()
	name, err := geotest.WriteDefault(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db, err := geo.Open(name, name) // the test database also carries ASNs
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestGeoLookup(t *testing.T) {
	db := openTestDB(t)
	for _, tt := range []struct {
		ip   string
		want geo.Location
	}{
		{"127.0.1.7", geo.Location{Country: "DE", Continent: "EU", Lat: 50.1, Lon: 8.7, HasCoords: true, ASN: 64501}},
		{"::ffff:127.0.2.1", geo.Location{Country: "FR", Continent: "EU", Lat: 48.9, Lon: 2.4, HasCoords: true, ASN: 64502}},
		{"127.0.3.255", geo.Location{Country: "US", Continent: "NA", Lat: 40.7, Lon: -74, HasCoords: true, ASN: 64503}},
		// A country database's record: coordinates from the country table.
		{"127.0.5.1", geo.Location{Country: "BR", Continent: "SA", Lat: -18, Lon: -47, HasCoords: true}},
		{"::1", geo.Location{Country: "NL", Continent: "EU", Lat: 52.4, Lon: 4.9, HasCoords: true}},
		{"127.0.0.1", geo.Location{}},
		{"192.0.2.1", geo.Location{}},
	} {
		if got := db.Lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Lookup(%s) = %+v, want %+v", tt.ip, got, tt.want)
		}
	}
	if got := db.Lookup(netip.Addr{}); got != (geo.Location{}) {
		t.Errorf("Lookup(invalid) = %+v", got)
	}
	if d := db.Describe(); d != "pando-test-City + pando-test-City" {
		t.Errorf("Describe = %q", d)
	}
}

func TestGeoNoDatabase(t *testing.T) {
	for _, db := range []*geo.DB{nil, {}} {
		if got := db.Lookup(netip.MustParseAddr("127.0.1.1")); got != (geo.Location{}) {
			t.Errorf("Lookup without a database = %+v", got)
		}
		if db.Describe() != "none" || db.Close() != nil {
			t.Errorf("Describe/Close without a database")
		}
	}
	db, err := geo.Open("", "")
	if err != nil || db.Lookup(netip.MustParseAddr("::1")) != (geo.Location{}) {
		t.Errorf("Open(\"\", \"\") = %v, %v", db, err)
	}
}

func TestGeoOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{bad, filepath.Join(dir, "missing.mmdb")} {
		_, err := geo.Open(name, "")
		if err == nil || !strings.HasPrefix(err.Error(), "geoip database "+name+": ") {
			t.Errorf("Open(%s) error = %v", name, err)
		}
	}
	good, _ := geotest.WriteDefault(dir)
	if _, err := geo.Open(good, bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Open with a bad ASN database: error = %v", err)
	}
}

func TestGeoDistance(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want                   float64 // km, within 1%
	}{
		{"Paris-Frankfurt", 48.86, 2.35, 50.11, 8.68, 479},
		{"New York-London", 40.71, -74.01, 51.51, -0.13, 5570},
		{"same", 10, 10, 10, 10, 0},
		{"antipodes", 0, 0, 0, 180, math.Pi * 6371},
		{"across the date line", 0, 179.5, 0, -179.5, 111.2},
	} {
		got := geo.DistanceKm(tt.lat1, tt.lon1, tt.lat2, tt.lon2)
		if math.Abs(got-tt.want) > 0.01*tt.want+0.001 {
			t.Errorf("%s: DistanceKm = %.1f, want %.1f", tt.name, got, tt.want)
		}
	}
}

func TestGeoCountryPlace(t *testing.T) {
	for cc, cont := range map[string]string{"DE": "EU", "US": "NA", "BR": "SA", "JP": "AS", "AU": "OC", "EG": "AF", "AQ": "AN", "RU": "EU", "TR": "AS"} {
		p, ok := geo.CountryPlace(cc)
		if !ok || p.Continent != cont {
			t.Errorf("CountryPlace(%s) = %+v, %v; want continent %s", cc, p, ok, cont)
		}
	}
	if _, ok := geo.CountryPlace("QQ"); ok {
		t.Errorf("CountryPlace(QQ) found")
	}
	if _, ok := geo.CountryPlace("de"); ok {
		t.Errorf("CountryPlace(de) found: codes are upper case")
	}
}

func BenchmarkGeoLookup(b *testing.B) {
	name, err := geotest.WriteDefault(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	db, err := geo.Open(name, "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ip := netip.MustParseAddr("127.0.1.9")
	b.ReportAllocs()
	for b.Loop() {
		db.Lookup(ip)
	}
}

func TestGeoPointDistance(t *testing.T) {
	places := [][2]float64{{48.86, 2.35}, {50.11, 8.68}, {40.71, -74.01}, {-33.9, 151.2}, {35.7, 139.7}, {0, 179.5}, {0, -179.5}, {-90, 0}}
	for _, a := range places {
		for _, b := range places {
			want := geo.DistanceKm(a[0], a[1], b[0], b[1])
			got := geo.NewPoint(a[0], a[1]).DistanceKm(geo.NewPoint(b[0], b[1]))
			if math.Abs(got-want) > 1 {
				t.Errorf("%v to %v: Point.DistanceKm %.1f, DistanceKm %.1f", a, b, got, want)
			}
		}
	}
}

func TestGeoConcurrentLookups(t *testing.T) {
	db := openTestDB(t)
	want := db.Lookup(netip.MustParseAddr("127.0.1.7"))
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			ok := true
			for i := 0; i < 500; i++ {
				ok = ok && db.Lookup(netip.MustParseAddr("127.0.1.7")) == want &&
					db.Lookup(netip.MustParseAddr("127.0.3.1")).Country == "US"
			}
			done <- ok
		}()
	}
	for g := 0; g < 8; g++ {
		if !<-done {
			t.Error("a concurrent lookup gave another answer")
		}
	}
}
