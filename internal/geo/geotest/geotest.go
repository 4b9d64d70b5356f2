// Package geotest writes small MaxMind-format databases for tests and
// benchmarks, so that nothing has to be downloaded: each Network maps an
// address range (loopback ranges work, so a test can make a request "from
// Germany" by dialling from 127.0.1.x or naming it in X-Forwarded-For) to a
// country, continent, optional coordinates and optional ASN, in the field
// layout of GeoLite2 City and ASN databases.
package geotest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// A Network is one address range and where it is.
type Network struct {
	CIDR      string // e.g. "127.0.1.0/24" or "::1/128"
	Country   string // ISO 3166-1 alpha-2; "" leaves the country out
	Continent string // "" leaves the continent out
	HasCoords bool
	Lat, Lon  float64
	ASN       uint32 // 0 leaves it out
}

// Networks is the default test world:
//
//	127.0.1.0/24  DE  EU  Frankfurt (50.1, 8.7)   AS64501
//	127.0.2.0/24  FR  EU  Paris (48.9, 2.4)       AS64502
//	127.0.3.0/24  US  NA  New York (40.7, -74.0)  AS64503
//	127.0.4.0/24  JP  AS  Tokyo (35.7, 139.7)     AS64504
//	127.0.5.0/24  BR  SA  (no coordinates, as in a country database)
//	127.0.6.0/24  AT  EU  (no coordinates)
//	::1/128       NL  EU  Amsterdam (52.4, 4.9)
//
// Other addresses, 127.0.0.1 among them, are not in the database.
func Networks() []Network {
	return []Network{
		{CIDR: "127.0.1.0/24", Country: "DE", Continent: "EU", HasCoords: true, Lat: 50.1, Lon: 8.7, ASN: 64501},
		{CIDR: "127.0.2.0/24", Country: "FR", Continent: "EU", HasCoords: true, Lat: 48.9, Lon: 2.4, ASN: 64502},
		{CIDR: "127.0.3.0/24", Country: "US", Continent: "NA", HasCoords: true, Lat: 40.7, Lon: -74.0, ASN: 64503},
		{CIDR: "127.0.4.0/24", Country: "JP", Continent: "AS", HasCoords: true, Lat: 35.7, Lon: 139.7, ASN: 64504},
		{CIDR: "127.0.5.0/24", Country: "BR", Continent: "SA"},
		{CIDR: "127.0.6.0/24", Country: "AT", Continent: "EU"},
		{CIDR: "::1/128", Country: "NL", Continent: "EU", HasCoords: true, Lat: 52.4, Lon: 4.9},
	}
}

// Write writes a database mapping nets to name, replacing any file there.
func Write(name string, nets []Network) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "pando-test-City",
		Description:             map[string]string{"en": "pando test networks"},
		IncludeReservedNetworks: true, // loopback and documentation ranges
		RecordSize:              28,
	})
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	for _, n := range nets {
		_, ipnet, err := net.ParseCIDR(n.CIDR)
		if err != nil {
			return fmt.Errorf("geotest: network %q: %w", n.CIDR, err)
		}
		if err := tree.Insert(ipnet, n.record()); err != nil {
			return fmt.Errorf("geotest: network %q: %w", n.CIDR, err)
		}
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("geotest: write %s: %w", name, err)
	}
	return f.Close()
}

// WriteDefault writes the Networks database as geo.mmdb in dir and returns
// its name.
func WriteDefault(dir string) (string, error) {
	name := filepath.Join(dir, "geo.mmdb")
	return name, Write(name, Networks())
}

func (n Network) record() mmdbtype.Map {
	m := mmdbtype.Map{}
	if n.Country != "" {
		m["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(n.Country)}
	}
	if n.Continent != "" {
		m["continent"] = mmdbtype.Map{"code": mmdbtype.String(n.Continent)}
	}
	if n.HasCoords {
		m["location"] = mmdbtype.Map{
			"latitude":  mmdbtype.Float64(n.Lat),
			"longitude": mmdbtype.Float64(n.Lon),
		}
	}
	if n.ASN != 0 {
		m["autonomous_system_number"] = mmdbtype.Uint32(n.ASN)
	}
	return m
}
