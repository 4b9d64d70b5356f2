package config

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// MaxWeight is the largest weight a mirror may have.
const MaxWeight = 1_000_000

// maxTextLen bounds free-text fields (contact, notes, token).
const maxTextLen = 4096

// A Mirror is one entry of the mirror registry.
type Mirror struct {
	Name    string // unique, [a-z0-9-]+
	HTTP    string // access URL prefixes ending in "/", each with its own scheme;
	HTTPS   string // at least one is set
	Rsync   string
	FTP     string
	Country string // ISO 3166-1 alpha-2, uppercase; empty when unknown
	Weight  int    // share of downloads relative to others; 0 disables the mirror
	Contact string // who runs it, e.g. an email address
	Notes   string
	Token   string // secret the mirror presents when reporting statistics

	// Where the mirror is, for sending downloads to a nearby one. Left out,
	// the redirector derives continent and coordinates from Country.
	Continent string  // AF, AN, AS, EU, NA, OC or SA; empty when not given
	HasCoords bool    // Latitude and Longitude were given
	Latitude  float64 // degrees, -90 (south) to 90 (north)
	Longitude float64 // degrees, -180 (west) to 180 (east)
	ASN       uint32  // the mirror's autonomous system number; 0 when not given
}

// CheckContinent reports whether code is one of the continent codes GeoIP
// databases use: AF (Africa), AN (Antarctica), AS (Asia), EU (Europe), NA
// (North America), OC (Oceania) and SA (South America).
func CheckContinent(code string) error {
	switch code {
	case "AF", "AN", "AS", "EU", "NA", "OC", "SA":
		return nil
	}
	return errors.New("want one of AF, AN, AS, EU, NA, OC, SA")
}

// AccessKind names how a mirror is reached; it is also the URL scheme.
type AccessKind string

// The kinds of access point.
const (
	AccessHTTP  AccessKind = "http"
	AccessHTTPS AccessKind = "https"
	AccessRsync AccessKind = "rsync"
	AccessFTP   AccessKind = "ftp"
)

// An AccessPoint is one way to reach a mirror's copy of the tree.
type AccessPoint struct {
	Kind AccessKind
	URL  string // prefix of the tree, ending in "/"
}

// Enabled reports whether downloads may be sent to the mirror.
func (m Mirror) Enabled() bool { return m.Weight > 0 }

// Access returns the mirror's access points in the order http, https,
// rsync, ftp, leaving out those not set.
func (m Mirror) Access() []AccessPoint {
	var a []AccessPoint
	for _, p := range []AccessPoint{
		{AccessHTTP, m.HTTP}, {AccessHTTPS, m.HTTPS}, {AccessRsync, m.Rsync}, {AccessFTP, m.FTP},
	} {
		if p.URL != "" {
			a = append(a, p)
		}
	}
	return a
}

// rawMirror is one [[mirror]] entry as written.
type rawMirror struct {
	Name    string `toml:"name"`
	HTTP    string `toml:"http"`
	HTTPS   string `toml:"https"`
	Rsync   string `toml:"rsync"`
	FTP     string `toml:"ftp"`
	Country string `toml:"country"`
	Weight  *int   `toml:"weight"`
	Contact string `toml:"contact"`
	Notes   string `toml:"notes"`
	Token   string `toml:"token"`

	Continent string   `toml:"continent"`
	Latitude  *float64 `toml:"latitude"`
	Longitude *float64 `toml:"longitude"`
	ASN       *int64   `toml:"asn"`
}

var mirrorKeys = map[string]bool{
	"name": true, "http": true, "https": true, "rsync": true, "ftp": true,
	"country": true, "weight": true, "contact": true, "notes": true, "token": true,
	"continent": true, "latitude": true, "longitude": true, "asn": true,
}

func (v *validator) mirrors(md *toml.MetaData, prims []toml.Primitive) []Mirror {
	if len(prims) > MaxMirrors {
		v.errorf("%d mirrors: more than %d", len(prims), MaxMirrors)
		return nil
	}
	var ms []Mirror
	names := map[string]int{}
	urls := map[string]int{}
	tokens := map[string]int{}
	for i, p := range prims {
		m, ok := v.mirror(md, i, p)
		if !ok {
			continue
		}
		if j, dup := names[m.Name]; dup {
			v.errorf("mirror[%d] %q: name already used by mirror[%d]", i, m.Name, j)
			continue
		}
		names[m.Name] = i
		for _, a := range m.Access() {
			if j, dup := urls[a.URL]; dup {
				v.errorf("mirror[%d] %q: %s %q: also the URL of mirror[%d]", i, m.Name, a.Kind, a.URL, j)
			}
			urls[a.URL] = i
		}
		// A shared token would let one mirror report downloads for another.
		if j, dup := tokens[m.Token]; dup && m.Token != "" {
			v.errorf("mirror[%d] %q: token: also the token of mirror[%d]; give each mirror its own", i, m.Name, j)
		}
		tokens[m.Token] = i
		ms = append(ms, m)
	}
	return ms
}

// mirror decodes and validates entry i; ok is false if it had errors.
func (v *validator) mirror(md *toml.MetaData, i int, p toml.Primitive) (m Mirror, ok bool) {
	n := len(v.errs)
	var keys map[string]any
	if err := md.PrimitiveDecode(p, &keys); err != nil {
		v.errorf("mirror[%d]: %v", i, err)
		return m, false
	}
	label := fmt.Sprintf("mirror[%d]", i)
	if name, isString := keys["name"].(string); isString && name != "" {
		label += fmt.Sprintf(" %q", name)
	}
	var raw rawMirror
	if err := md.PrimitiveDecode(p, &raw); err != nil {
		v.errorf("%s: %v", label, err)
		return m, false
	}
	var unknown []string
	for k := range keys {
		if !mirrorKeys[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		v.errorf("%s: unknown key %q", label, k)
	}
	m = v.mirrorFields(label, &raw)
	return m, len(v.errs) == n
}

func (v *validator) mirrorFields(label string, raw *rawMirror) Mirror {
	m := Mirror{
		Name: raw.Name, Country: raw.Country, Weight: DefaultWeight,
		Contact: raw.Contact, Notes: raw.Notes, Token: raw.Token,
	}
	if err := CheckMirrorName(m.Name); err != nil {
		v.errorf("%s: name: %v", label, err)
	}
	m.HTTP = v.accessURL(label, AccessHTTP, raw.HTTP)
	m.HTTPS = v.accessURL(label, AccessHTTPS, raw.HTTPS)
	m.Rsync = v.accessURL(label, AccessRsync, raw.Rsync)
	m.FTP = v.accessURL(label, AccessFTP, raw.FTP)
	if raw.HTTP == "" && raw.HTTPS == "" && raw.Rsync == "" && raw.FTP == "" {
		v.errorf("%s: needs at least one of http, https, rsync, ftp", label)
	}
	if m.Country != "" {
		if err := checkCountry(m.Country); err != nil {
			v.errorf("%s: country %q: %v", label, m.Country, err)
		}
	}
	if w := raw.Weight; w != nil {
		if *w < 0 || *w > MaxWeight {
			v.errorf("%s: weight %d: must be between 0 and %d", label, *w, MaxWeight)
		} else {
			m.Weight = *w
		}
	}
	v.place(label, raw, &m)
	v.text(label, "contact", m.Contact)
	v.text(label, "notes", m.Notes)
	v.text(label, "token", m.Token)
	if strings.ContainsAny(m.Token, " \t\r\n") {
		v.errorf("%s: token: must not contain white space", label)
	}
	return m
}

// place validates where the mirror says it is.
func (v *validator) place(label string, raw *rawMirror, m *Mirror) {
	if c := raw.Continent; c != "" {
		if err := CheckContinent(c); err != nil {
			v.errorf("%s: continent %q: %v", label, c, err)
		} else {
			m.Continent = c
		}
	}
	switch lat, lon := raw.Latitude, raw.Longitude; {
	case lat == nil && lon == nil:
	case lat == nil || lon == nil:
		v.errorf("%s: latitude and longitude go together", label)
	case !(*lat >= -90 && *lat <= 90):
		v.errorf("%s: latitude %v: must be between -90 and 90", label, *lat)
	case !(*lon >= -180 && *lon <= 180):
		v.errorf("%s: longitude %v: must be between -180 and 180", label, *lon)
	default:
		m.HasCoords, m.Latitude, m.Longitude = true, *lat, *lon
	}
	if a := raw.ASN; a != nil {
		if *a < 1 || *a > 1<<32-1 {
			v.errorf("%s: asn %d: must be between 1 and %d", label, *a, int64(1<<32-1))
		} else {
			m.ASN = uint32(*a)
		}
	}
}

func (v *validator) accessURL(label string, kind AccessKind, s string) string {
	if s == "" {
		return ""
	}
	u, err := checkURL(s, string(kind))
	if err != nil {
		v.errorf("%s: %s %q: %v", label, kind, s, err)
		return ""
	}
	return u
}

func (v *validator) text(label, key, s string) {
	if len(s) > maxTextLen {
		v.errorf("%s: %s: longer than %d bytes", label, key, maxTextLen)
	}
}

// CheckMirrorName reports whether name is a valid mirror name: 1 to 63
// lowercase letters, digits and dashes.
func CheckMirrorName(name string) error {
	if name == "" {
		return errors.New("required")
	}
	if len(name) > 63 {
		return fmt.Errorf("%q is longer than 63 bytes", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%q: only a-z, 0-9 and - are allowed", name)
		}
	}
	return nil
}

// checkURL validates a tree's URL prefix and returns it normalized: scheme
// and host in lower case, path ending in "/".
func checkURL(s string, schemes ...string) (string, error) {
	if len(s) > maxURLLen {
		return "", fmt.Errorf("longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("not a URL: %v", err)
	}
	if !schemeIn(u.Scheme, schemes) {
		return "", fmt.Errorf("scheme must be %s", strings.Join(schemes, " or "))
	}
	switch {
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("want %s://host/path/", u.Scheme)
	case u.User != nil:
		return "", errors.New("must not contain a user name or password")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("must not have a query")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", errors.New("must not have a fragment")
	}
	u.Host = strings.ToLower(u.Host)
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), nil
}

func schemeIn(scheme string, schemes []string) bool {
	for _, s := range schemes {
		if scheme == s {
			return true
		}
	}
	return false
}
