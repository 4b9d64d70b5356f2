package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const testKey = "repo.example.org+3494b1e0+AYfb8mFar0WV16AwngtAI9CeNAVsbc0rDFl55+Od86nB"

const minimal = `
[origin]
url = "https://repo.example.org/pub"
pubkey = "` + testKey + `"
`

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse([]byte(minimal), "/etc/pando")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		File:   "hub.toml",
		Origin: Origin{URL: "https://repo.example.org/pub/", PubKey: testKey, MaxAge: 24 * time.Hour},
		Store:  Store{Driver: "sqlite", Path: "/etc/pando/pando.db", Keep: DefaultKeep},
		Check: Check{
			Interval: 15 * time.Minute, HashBudget: 512 << 20, Connections: 8,
			Timeout: 30 * time.Second, TLSWarn: 336 * time.Hour,
		},
		Hub:      Hub{Listen: "127.0.0.1:8080", Fallback: "https://repo.example.org/pub/"},
		Redirect: Redirect{Candidates: 5},
	}
	if cfg.Origin.Verifier == nil || cfg.Origin.Verifier.Name() != "repo.example.org" {
		t.Fatalf("verifier = %v, want one for repo.example.org", cfg.Origin.Verifier)
	}
	cfg.Origin.Verifier = nil
	if !equalConfig(cfg, &want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", *cfg, want)
	}
}

func equalConfig(a, b *Config) bool {
	if len(a.Mirrors) != len(b.Mirrors) {
		return false
	}
	for i := range a.Mirrors {
		if a.Mirrors[i] != b.Mirrors[i] {
			return false
		}
	}
	return a.File == b.File && a.Origin == b.Origin && a.Store == b.Store && a.Check == b.Check && a.Hub == b.Hub &&
		equalRedirect(a.Redirect, b.Redirect)
}

func equalRedirect(a, b Redirect) bool {
	return a.GeoIP == b.GeoIP && a.ASNDB == b.ASNDB && a.AllowInsecure == b.AllowInsecure &&
		a.Candidates == b.Candidates && slices.Equal(a.TrustedProxies, b.TrustedProxies)
}

func TestParseFull(t *testing.T) {
	data := `
[origin]
url = "http://origin.example/tails"
pubkey = "` + testKey + `"
max_age = "2d"

[store]
driver = "postgres"
dsn = "postgres://pando@db/pando"
keep = "30d"

[check]
interval = "1h"
hash_budget = "1GiB"
connections = 4
timeout = "10s"
tls_warn = "7d"

[hub]
listen = ":8443"
fallback = "https://fallback.example/"

[[mirror]]
name = "fau"
https = "HTTPS://FTP.FAU.de/tails"
rsync = "rsync://ftp.fau.de/tails/"
country = "DE"
weight = 0
contact = "ftp@fau.de"
notes = "University mirror"
token = "s3cret"

[[mirror]]
name = "edge-1"
http = "http://edge.example:8080/x/"
ftp = "ftp://edge.example/x"
`
	cfg, err := Parse([]byte(data), ".")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Origin.Verifier = nil
	want := Config{
		File:   "hub.toml",
		Origin: Origin{URL: "http://origin.example/tails/", PubKey: testKey, MaxAge: 48 * time.Hour},
		Store:  Store{Driver: "postgres", DSN: "postgres://pando@db/pando", Keep: 30 * 24 * time.Hour},
		Check: Check{
			Interval: time.Hour, HashBudget: 1 << 30, Connections: 4,
			Timeout: 10 * time.Second, TLSWarn: 7 * 24 * time.Hour,
		},
		Hub:      Hub{Listen: ":8443", Fallback: "https://fallback.example/"},
		Redirect: Redirect{Candidates: 5},
		Mirrors: []Mirror{{
			Name: "fau", HTTPS: "https://ftp.fau.de/tails/", Rsync: "rsync://ftp.fau.de/tails/",
			Country: "DE", Weight: 0, Contact: "ftp@fau.de", Notes: "University mirror", Token: "s3cret",
		}, {
			Name: "edge-1", HTTP: "http://edge.example:8080/x/", FTP: "ftp://edge.example/x/", Weight: 100,
		}},
	}
	if !equalConfig(cfg, &want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", *cfg, want)
	}
	if cfg.Mirrors[0].Enabled() || !cfg.Mirrors[1].Enabled() {
		t.Errorf("Enabled: weight 0 must disable, weight 100 enable")
	}
	got := cfg.Mirrors[1].Access()
	if len(got) != 2 || got[0] != (AccessPoint{AccessHTTP, "http://edge.example:8080/x/"}) ||
		got[1] != (AccessPoint{AccessFTP, "ftp://edge.example/x/"}) {
		t.Errorf("Access() = %v", got)
	}
	if m, ok := cfg.Mirror("edge-1"); !ok || m.Name != "edge-1" {
		t.Errorf("Mirror(edge-1) = %v, %v", m, ok)
	}
	if _, ok := cfg.Mirror("nope"); ok {
		t.Errorf("Mirror(nope) found")
	}
}

func TestParseErrors(t *testing.T) {
	origin := minimal
	for _, tt := range []struct {
		name, data, want string
	}{
		{"no origin", "", "hub.toml: origin.url: required\nhub.toml: origin.pubkey: required"},
		{"bad origin url", `[origin]
url = "ftp://x/"
pubkey = "` + testKey + `"`, `hub.toml: origin.url "ftp://x/": scheme must be http or https`},
		{"bad key", `[origin]
url = "https://x/"
pubkey = "a+b+c"`, `hub.toml: origin.pubkey "a+b+c": malformed verifier id`},
		{"missing key file", `[origin]
url = "https://x/"
pubkey = "nope.pub"`, `hub.toml: origin.pubkey "nope.pub": neither a verifier key nor a readable file: stat nope.pub: no such file or directory`},
		{"syntax", "[origin\n", `hub.toml: toml: line 2: expected '.' or ']' to end table name, but got '\n' instead`},
		{"unknown keys", origin + "speed = 3\n[check]\nintervall = \"1m\"\n[extra]\na = 1\nb = 2\n",
			"hub.toml: unknown key \"check.intervall\"\nhub.toml: unknown key \"extra\"\nhub.toml: unknown key \"origin.speed\""},
		{"bad durations", origin + "max_age = \"-1h\"\n[check]\ninterval = \"15\"\ntimeout = \"0s\"\ntls_warn = \"1.5d\"\n",
			`hub.toml: origin.max_age "-1h": must be positive` + "\n" +
				`hub.toml: check.interval "15": not a duration (use e.g. "90s", "15m", "24h" or "14d")` + "\n" +
				`hub.toml: check.timeout "0s": must be positive` + "\n" +
				`hub.toml: check.tls_warn "1.5d": not a duration (use e.g. "90s", "15m", "24h" or "14d")`},
		{"bad check", origin + "[check]\nhash_budget = \"1 XB\"\nconnections = 0\n",
			`hub.toml: check.hash_budget "1 XB": not a size (use e.g. "512MB", "1GiB", "8M" or a number of bytes)` + "\n" +
				`hub.toml: check.connections 0: must be between 1 and 256`},
		{"wrong type", origin + "[check]\nhash_budget = 5\n",
			`hub.toml: toml: line 6 (last key "check.hash_budget"): incompatible types: TOML value has type int64; destination has type string`},
		{"store", origin + "[store]\ndriver = \"mysql\"\n", `hub.toml: store.driver "mysql": must be "sqlite" or "postgres"`},
		{"postgres", origin + "[store]\ndriver = \"postgres\"\npath = \"x.db\"\n",
			"hub.toml: store.path: only for driver \"sqlite\"; use store.dsn for postgres\nhub.toml: store.dsn: required for driver \"postgres\""},
		{"sqlite dsn", origin + "[store]\ndsn = \"x\"\n", `hub.toml: store.dsn: only for driver "postgres"; use store.path for sqlite`},
		{"keep", origin + "[store]\nkeep = \"forever\"\n", `hub.toml: store.keep "forever": not a duration (use e.g. "90s", "15m", "24h" or "14d")`},
		{"hub", origin + "[hub]\nlisten = \"localhost\"\nfallback = \"https://x/?a=b\"\n",
			`hub.toml: hub.listen "localhost": want host:port, e.g. "127.0.0.1:8080" or ":443"` + "\n" +
				`hub.toml: hub.fallback "https://x/?a=b": must not have a query`},
		{"port", origin + "[hub]\nlisten = \":99999\"\n", `hub.toml: hub.listen ":99999": port "99999" is not a number from 0 to 65535`},
		{"map without key", origin + "[hub]\nmap_file = \"map.signed\"\n", `hub.toml: hub.map_file "map.signed": needs hub.key to sign the map`},
		{"mirror scheme", origin + mirrors(`name = "a"
https = "https://a/"`, `name = "b"
https = "https://b/"`, `name = "fau"
https = "ftp://x"`), `hub.toml: mirror[2] "fau": https "ftp://x": scheme must be https`},
		{"mirror fields", origin + mirrors(`name = "Fau"
country = "de"
weight = -1
http = "http://user:pw@x/"
rsync = "rsync:x"
ftp = "ftp://x/#a"
token = "a b"
shape = "round"`), `hub.toml: mirror[0] "Fau": unknown key "shape"` + "\n" +
			`hub.toml: mirror[0] "Fau": name: "Fau": only a-z, 0-9 and - are allowed` + "\n" +
			`hub.toml: mirror[0] "Fau": http "http://user:pw@x/": must not contain a user name or password` + "\n" +
			`hub.toml: mirror[0] "Fau": rsync "rsync:x": want rsync://host/path/` + "\n" +
			`hub.toml: mirror[0] "Fau": ftp "ftp://x/#a": must not have a fragment` + "\n" +
			`hub.toml: mirror[0] "Fau": country "de": must be upper case: "DE"` + "\n" +
			`hub.toml: mirror[0] "Fau": weight -1: must be between 0 and 1000000` + "\n" +
			`hub.toml: mirror[0] "Fau": token: must not contain white space`},
		{"mirror no access", origin + mirrors(`name = "a"`, `country = "UK"
http = "http://b/"`),
			"hub.toml: mirror[0] \"a\": needs at least one of http, https, rsync, ftp\n" +
				"hub.toml: mirror[1]: name: required\n" +
				"hub.toml: mirror[1]: country \"UK\": not an ISO 3166-1 code; the United Kingdom is \"GB\""},
		{"mirror country", origin + mirrors(`name = "a"
http = "http://a/"
country = "QQ"`), `hub.toml: mirror[0] "a": country "QQ": not an ISO 3166-1 alpha-2 code`},
		{"mirror type", origin + mirrors(`name = "a"
http = "http://a/"
weight = "10"`), `hub.toml: mirror[0] "a": toml: line 9 (last key "mirror.weight"): incompatible types: TOML value has type string; destination has type integer`},
		{"mirror duplicates", origin + mirrors(`name = "a"
http = "http://a/"`, `name = "b"
http = "http://A/"`, `name = "a"
http = "http://c/"`),
			"hub.toml: mirror[1] \"b\": http \"http://a/\": also the URL of mirror[0]\n" +
				"hub.toml: mirror[2] \"a\": name already used by mirror[0]"},
		{"shared token", origin + mirrors(`name = "a"
http = "http://a/"
token = "s3cret"`, `name = "b"
http = "http://b/"
token = "s3cret"`), "hub.toml: mirror[1] \"b\": token: also the token of mirror[0]; give each mirror its own"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data), "")
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func mirrors(entries ...string) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString("\n[[mirror]]\n" + e + "\n")
	}
	return b.String()
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "origin.pub"), []byte(testKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "hub.toml")
	data := "[origin]\nurl = \"https://x/\"\npubkey = \"origin.pub\"\n[store]\npath = \"state/hub.db\"\n"
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != name || cfg.Store.Path != filepath.Join(dir, "state/hub.db") || cfg.Origin.Verifier == nil {
		t.Errorf("Load = %+v", cfg)
	}
	if err := os.WriteFile(name, []byte(data+"[[mirror]]\nname=\"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(name)
	want := name + `: mirror[0] "x": needs at least one of http, https, rsync, ftp`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(dir) error = %v", err)
	}
}

// TestDocExample keeps the complete example in docs/CONFIG.md valid.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```toml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/CONFIG.md has no toml example")
	}
	cfg, err := Parse(m[1], "/etc/pando")
	if err != nil {
		t.Fatalf("docs/CONFIG.md example: %v", err)
	}
	if len(cfg.Mirrors) == 0 {
		t.Error("docs/CONFIG.md example has no mirrors")
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"90s", 90 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"14d", 336 * time.Hour, ""},
		{"0d", 0, "must be positive"},
		{"-5m", 0, "must be positive"},
		{"d", 0, "not a duration"},
		{"01d", 0, "not a duration"},
		{"3 days", 0, "not a duration"},
		{"999999999d", 0, "too long"},
		{"", 0, "not a duration"},
	} {
		got, err := ParseDuration(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.HasPrefix(err.Error(), tt.err) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		err  string
	}{
		{"4096", 4096, ""},
		{"0", 0, ""},
		{"512MB", 512e6, ""},
		{"512 MB", 512e6, ""},
		{"1GiB", 1 << 30, ""},
		{"8M", 8 << 20, ""},
		{"8m", 8 << 20, ""},
		{"3kb", 3000, ""},
		{"2T", 2 << 40, ""},
		{"100B", 100, ""},
		{"007", 0, "not a size"},
		{"1.5G", 0, "not a size"},
		{"-1", 0, "not a size"},
		{"G", 0, "not a size"},
		{"1  G", 0, "not a size"},
		{"9999999999TB", 0, "larger than"},
		{"99999999999999999999", 0, "larger than"},
	} {
		got, err := ParseSize(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.HasPrefix(err.Error(), tt.err) {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + mirrors(`name = "a"
https = "https://a/"
country = "DE"
weight = 3`)))
	f.Add([]byte("[check]\nhash_budget = \"1GiB\"\ninterval = \"14d\"\n[[mirror]]\nname = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "testdata")
		if err != nil {
			return
		}
		for _, m := range cfg.Mirrors {
			if CheckMirrorName(m.Name) != nil || len(m.Access()) == 0 {
				t.Fatalf("Parse accepted invalid mirror %+v", m)
			}
		}
	})
}
