// Package geo owns where a client is: a lookup of an IP address in a
// MaxMind-format database (GeoLite2 or DB-IP country or city databases, and
// optionally an ASN database) giving country, continent, coordinates and
// autonomous system, and the distance between two points.
//
// A DB works with no database at all: every lookup then answers an unknown
// Location, and the redirector chooses by weight alone. A country database
// gives no coordinates; Lookup then uses the country's representative point
// (CountryPlace), so distances still rank mirrors sensibly.
//
// Test databases are written by package geotest; nothing is downloaded.
package geo

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"
)

// A Location is what is known of where an address is. Zero fields are
// unknown.
type Location struct {
	Country   string  // ISO 3166-1 alpha-2, upper case
	Continent string  // AF, AN, AS, EU, NA, OC or SA
	Lat, Lon  float64 // degrees; valid only if HasCoords
	HasCoords bool
	ASN       uint32 // autonomous system number
}

// A DB answers location lookups. The zero value and a nil *DB answer every
// lookup with an unknown Location. Lookups are safe for concurrent use.
type DB struct {
	places *maxminddb.Reader // country or city database
	asns   *maxminddb.Reader // ASN database
	cache  *recordCache      // decoded records of places
	asnc   *recordCache      // decoded records of asns
}

// cacheSize is the number of decoded records a recordCache keeps.
const cacheSize = 4096

// A recordCache keeps decoded records by their offset in a database, so
// that the many addresses that share a record (a country database has a few
// hundred) are decoded once. It is direct-mapped and lock-free: a slot holds
// the last record that hashed to it.
type recordCache struct {
	slots [cacheSize]atomic.Pointer[cachedRecord]
}

type cachedRecord struct {
	offset uintptr
	loc    Location
}

// lookup returns the record of ip in r, decoded, and whether there is one.
func (c *recordCache) lookup(r *maxminddb.Reader, ip netip.Addr) (Location, bool) {
	res := r.Lookup(ip)
	if !res.Found() {
		return Location{}, false
	}
	slot := &c.slots[res.Offset()%cacheSize]
	if e := slot.Load(); e != nil && e.offset == res.Offset() {
		return e.loc, true
	}
	var rec record
	if res.Decode(&rec) != nil {
		return Location{}, false
	}
	loc := fromRecord(&rec)
	slot.Store(&cachedRecord{offset: res.Offset(), loc: loc})
	return loc, true
}

// Open opens a country or city database and an ASN database, either of
// which may be "" for none. The error names the file at fault.
func Open(placeDB, asnDB string) (*DB, error) {
	d := &DB{cache: &recordCache{}, asnc: &recordCache{}}
	var err error
	if placeDB != "" {
		if d.places, err = open(placeDB); err != nil {
			return nil, err
		}
	}
	if asnDB != "" {
		if d.asns, err = open(asnDB); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

func open(name string) (*maxminddb.Reader, error) {
	r, err := maxminddb.Open(name)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", name, err)
	}
	return r, nil
}

// Close releases the databases.
func (d *DB) Close() error {
	if d == nil {
		return nil
	}
	var errs []error
	for _, r := range []*maxminddb.Reader{d.places, d.asns} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}

// Describe names the open databases' types, for a startup log line.
func (d *DB) Describe() string {
	if d == nil || d.places == nil && d.asns == nil {
		return "none"
	}
	s := ""
	for _, r := range []*maxminddb.Reader{d.places, d.asns} {
		if r != nil {
			if s != "" {
				s += " + "
			}
			s += r.Metadata.DatabaseType
		}
	}
	return s
}

// record holds the fields of a GeoLite2/GeoIP2/DB-IP record that Lookup
// uses; other fields are skipped while decoding.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Location struct {
		Latitude  float64 `maxminddb:"latitude"`
		Longitude float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
	ASN uint32 `maxminddb:"autonomous_system_number"`
}

// Lookup returns what the databases say about ip. It never fails: an
// address not in a database, or a record that does not decode, is unknown.
func (d *DB) Lookup(ip netip.Addr) Location {
	var loc Location
	if d == nil || !ip.IsValid() {
		return loc
	}
	ip = ip.Unmap().WithZone("")
	if d.places != nil && d.cache != nil {
		loc, _ = d.cache.lookup(d.places, ip)
	}
	if d.asns != nil && d.asnc != nil {
		if a, ok := d.asnc.lookup(d.asns, ip); ok && a.ASN != 0 {
			loc.ASN = a.ASN
		}
	}
	return loc
}

// fromRecord fills a Location from a decoded record, completing the
// continent and coordinates from the country when the record lacks them.
func fromRecord(r *record) Location {
	loc := Location{Country: r.Country.ISOCode, Continent: r.Continent.Code, ASN: r.ASN}
	if loc.Country == "" {
		loc.Country = r.RegisteredCountry.ISOCode
	}
	lat, lon := r.Location.Latitude, r.Location.Longitude
	if (lat != 0 || lon != 0) && validCoords(lat, lon) {
		loc.Lat, loc.Lon, loc.HasCoords = lat, lon, true
	}
	if p, ok := CountryPlace(loc.Country); ok {
		if loc.Continent == "" {
			loc.Continent = p.Continent
		}
		if !loc.HasCoords {
			loc.Lat, loc.Lon, loc.HasCoords = p.Lat, p.Lon, true
		}
	}
	return loc
}

func validCoords(lat, lon float64) bool {
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}

// earthRadiusKm is the mean radius of the Earth.
const earthRadiusKm = 6371.0

// DistanceKm returns the great-circle distance in kilometres between two
// points given in degrees (the haversine formula).
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLon/2)
	h := s1*s1 + math.Cos(lat1*rad)*math.Cos(lat2*rad)*s2*s2
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(min(1, h)))
}

// A Point is a place prepared for many distance computations: ranking
// mirrors by distance costs one cosine and one arc cosine per mirror.
type Point struct{ sinLat, cosLat, lon float64 }

// NewPoint returns the point at lat, lon (degrees).
func NewPoint(lat, lon float64) Point {
	const rad = math.Pi / 180
	return Point{sinLat: math.Sin(lat * rad), cosLat: math.Cos(lat * rad), lon: lon * rad}
}

// DistanceKm returns the great-circle distance in kilometres between p and
// q by the spherical law of cosines: as exact as the haversine formula
// (DistanceKm) beyond a few kilometres, which is all ranking needs.
func (p Point) DistanceKm(q Point) float64 {
	c := p.sinLat*q.sinLat + p.cosLat*q.cosLat*math.Cos(p.lon-q.lon)
	return earthRadiusKm * math.Acos(max(-1, min(1, c)))
}
