package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigRedirect(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"country.mmdb", "asn.mmdb"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := minimal + `
[redirect]
geoip = "country.mmdb"
asn_db = "` + filepath.Join(dir, "asn.mmdb") + `"
trusted_proxies = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1"]
allow_insecure = true
candidates = 0
`
	cfg, err := Parse([]byte(data), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Redirect{
		GeoIP: filepath.Join(dir, "country.mmdb"), ASNDB: filepath.Join(dir, "asn.mmdb"),
		TrustedProxies: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128"),
		},
		AllowInsecure: true, Candidates: 0,
	}
	if !equalRedirect(cfg.Redirect, want) {
		t.Errorf("Redirect:\n got %+v\nwant %+v", cfg.Redirect, want)
	}
}

func TestConfigRedirectErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ name, data, want string }{
		{"files", "[redirect]\ngeoip = \"nope.mmdb\"\nasn_db = \".\"\n",
			`hub.toml: redirect.geoip "nope.mmdb": no such file or directory` + "\n" +
				`hub.toml: redirect.asn_db ".": not a regular file`},
		{"proxies", "[redirect]\ntrusted_proxies = [\"10.0.0.1/8\", \"proxy.example\", \"fe80::1%eth0\", \"::ffff:10.0.0.0/104\"]\n",
			`hub.toml: redirect.trusted_proxies[0] "10.0.0.1/8": address bits beyond the prefix length; want "10.0.0.0/8"` + "\n" +
				`hub.toml: redirect.trusted_proxies[1] "proxy.example": want an address or a network, e.g. "192.0.2.7" or "10.0.0.0/8"` + "\n" +
				`hub.toml: redirect.trusted_proxies[2] "fe80::1%eth0": must not have a zone` + "\n" +
				`hub.toml: redirect.trusted_proxies[3] "::ffff:10.0.0.0/104": write IPv4 networks in IPv4 notation`},
		{"candidates", "[redirect]\ncandidates = 65\n", `hub.toml: redirect.candidates 65: must be between 0 and 64`},
		{"unknown", "[redirect]\ngeo = \"x\"\n", `hub.toml: unknown key "redirect.geo"`},
		{"place", mirrors(`name = "a"
http = "http://a/"
continent = "Europe"
latitude = 91.5
longitude = 10
asn = 0`, `name = "b"
http = "http://b/"
latitude = 10`, `name = "c"
http = "http://c/"
latitude = 10
longitude = -180.5
asn = 4294967296`),
			`hub.toml: mirror[0] "a": continent "Europe": want one of AF, AN, AS, EU, NA, OC, SA` + "\n" +
				`hub.toml: mirror[0] "a": latitude 91.5: must be between -90 and 90` + "\n" +
				`hub.toml: mirror[0] "a": asn 0: must be between 1 and 4294967295` + "\n" +
				`hub.toml: mirror[1] "b": latitude and longitude go together` + "\n" +
				`hub.toml: mirror[2] "c": longitude -180.5: must be between -180 and 180` + "\n" +
				`hub.toml: mirror[2] "c": asn 4294967296: must be between 1 and 4294967295`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tt.data), dir)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestConfigMirrorPlace(t *testing.T) {
	data := minimal + mirrors(`name = "a"
https = "https://a/"
country = "RU"
continent = "AS"
latitude = 55
longitude = 82.9
asn = 64500`, `name = "b"
https = "https://b/"
country = "DE"`)
	cfg, err := Parse([]byte(data), "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Mirrors[0], cfg.Mirrors[1]
	if a.Continent != "AS" || !a.HasCoords || a.Latitude != 55 || a.Longitude != 82.9 || a.ASN != 64500 {
		t.Errorf("mirror a = %+v", a)
	}
	if b.Continent != "" || b.HasCoords || b.ASN != 0 {
		t.Errorf("mirror b = %+v; want nothing derived in the config", b)
	}
	text, err := FormatMirrors(cfg.Mirrors)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`continent = "AS"`, `latitude = 55.0`, `longitude = 82.9`, `asn = 64500`} {
		if !strings.Contains(string(text), line+"\n") {
			t.Errorf("FormatMirrors lacks %q:\n%s", line, text)
		}
	}
	again, err := Parse([]byte(minimal+"\n"+string(text)), "")
	if err != nil {
		t.Fatal(err)
	}
	if again.Mirrors[0] != a || again.Mirrors[1] != b {
		t.Errorf("round trip:\n got %+v\nwant %+v", again.Mirrors, cfg.Mirrors)
	}
}
