package redirect_test

import (
	"fmt"
	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/redirect"
)

func TestRedirectSelectExclusions(t *testing.T) {
	m := badWorld(t).Map()
	obj, _ := m.Lookup("pool/a.iso")
	chosen, excluded := redirect.Select(m, obj, geo.Location{}, "https", redirect.SelectOptions{Rand: seeded(1)})
	var names []string
	for _, c := range chosen {
		names = append(names, c.Mirror.Name+" "+c.URL)
	}
	sort.Strings(names)
	want := "good1 https://good1.example/pub/pool/a.iso\ngood2 https://good2.example/pub/pool/a.iso"
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("chosen:\n%s\nwant:\n%s", got, want)
	}
	var got []string
	for _, x := range excluded {
		got = append(got, fmt.Sprintf("%s: %s (%s)", x.Mirror, x.Reason, x.Detail))
	}
	wantEx := []string{
		"good3: scheme weaker than the request's ()",
		"missing: scheme weaker than the request's ()",
		"stale: scheme weaker than the request's ()",
		"wrongbytes: scheme weaker than the request's ()",
		"failed: scheme weaker than the request's ()",
		"disabled: disabled ()",
		"tampered: untrusted (hash problem over http at pool/b.jar)",
		"forked: untrusted (fork problem over http)",
		"down: scheme weaker than the request's ()",
		"ftponly: no http or https access point ()",
	}
	if strings.Join(got, "\n") != strings.Join(wantEx, "\n") {
		t.Errorf("excluded for https:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantEx, "\n"))
	}

	_, excluded = redirect.Select(m, obj, geo.Location{}, "http", redirect.SelectOptions{})
	got = got[:0]
	for _, x := range excluded {
		got = append(got, fmt.Sprintf("%s: %s", x.Mirror, x.Reason))
	}
	wantEx = []string{
		"missing: not verified to hold this version",
		"stale: not verified to hold this version",
		"wrongbytes: not verified to hold this version",
		"failed: not verified to hold this version",
		"disabled: disabled",
		"tampered: untrusted",
		"forked: untrusted",
		"down: unreachable",
		"ftponly: no http or https access point",
	}
	if strings.Join(got, "\n") != strings.Join(wantEx, "\n") {
		t.Errorf("excluded for http:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantEx, "\n"))
	}
}

func TestRedirectSelectScheme(t *testing.T) {
	w := newWorld(t)
	holdAll(w, mirror("both", "", 100, config.AccessHTTP, config.AccessHTTPS))
	holdAll(w, mirror("plain", "", 100, config.AccessHTTP))
	holdAll(w, mirror("secure", "", 100, config.AccessHTTPS))
	m := w.Map()
	obj, _ := m.Lookup("pool/b.jar")
	for _, tt := range []struct {
		scheme   string
		insecure bool
		want     string // mirror:kind, sorted
	}{
		{"https", false, "both:https secure:https"},
		{"https", true, "both:https plain:http secure:https"},
		{"http", false, "both:http plain:http secure:https"},
	} {
		chosen, _ := redirect.Select(m, obj, geo.Location{}, tt.scheme, redirect.SelectOptions{AllowInsecure: tt.insecure})
		var got []string
		for _, c := range chosen {
			got = append(got, c.Mirror.Name+":"+string(c.Access.Kind))
			if !strings.HasPrefix(c.URL, string(c.Access.Kind)+"://") {
				t.Errorf("%s: URL %s does not use the access point's scheme", c.Mirror.Name, c.URL)
			}
		}
		sort.Strings(got)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s (allow insecure %v): %v, want %s", tt.scheme, tt.insecure, got, tt.want)
		}
	}
}

// chiSquare returns the chi-square statistic of counts against shares
// proportional to weights.
func chiSquare(counts map[string]int, weights map[string]int) float64 {
	total, wsum := 0, 0
	for _, c := range counts {
		total += c
	}
	for _, w := range weights {
		wsum += w
	}
	x := 0.0
	for name, w := range weights {
		exp := float64(total) * float64(w) / float64(wsum)
		d := float64(counts[name]) - exp
		x += d * d / exp
	}
	return x
}

// chiSquare2DoF999 is the 99.9th percentile of the chi-square distribution
// with 2 degrees of freedom: an honest weighted choice among three mirrors
// exceeds it once in a thousand seeds.
const chiSquare2DoF999 = 13.82

func TestRedirectSelectWeights(t *testing.T) {
	m := badWorld(t).Map()
	obj, _ := m.Lookup("pool/a.iso")
	weights := map[string]int{"good1": 100, "good2": 300, "good3": 600}
	src := seeded(42)
	counts := map[string]int{}
	const n = 20000
	for i := 0; i < n; i++ {
		chosen, _ := redirect.Select(m, obj, geo.Location{}, "http", redirect.SelectOptions{Rand: src})
		counts[chosen[0].Mirror.Name]++
		if len(chosen) != 3 {
			t.Fatalf("%d candidates, want 3", len(chosen))
		}
	}
	if x := chiSquare(counts, weights); x > chiSquare2DoF999 {
		t.Errorf("shares %v for weights %v: chi-square %.2f > %.2f", counts, weights, x, chiSquare2DoF999)
	}
	for name, w := range weights {
		p := float64(w) / 1000
		sigma := math.Sqrt(n * p * (1 - p))
		if d := math.Abs(float64(counts[name]) - n*p); d > 3*sigma {
			t.Errorf("%s: %d of %d, expected %.0f ± %.0f (3 sigma)", name, counts[name], n, n*p, 3*sigma)
		}
	}
}

// geoWorld has one mirror in each of DE, FR, US and JP, and one in the
// US that announces ASN 64502 (the FR test network's).
func geoWorld(t testing.TB) *redirectWorld {
	w := newWorld(t)
	for _, cc := range []string{"DE", "FR", "US", "JP"} {
		holdAll(w, mirror(strings.ToLower(cc), cc, 100, config.AccessHTTPS))
	}
	return &redirectWorld{w}
}

func TestRedirectSelectTiers(t *testing.T) {
	w := geoWorld(t)
	db := geoDB(t)
	for _, tt := range []struct {
		name   string
		ip     string
		remove string // mirror taken out of the registry first
		want   string // the only mirror chosen first, over many tries
		tier   redirect.Tier
	}{
		{"country DE", "127.0.1.20", "", "de", redirect.TierCountry},
		{"country FR", "127.0.2.20", "", "fr", redirect.TierCountry},
		{"country US", "127.0.3.20", "", "us", redirect.TierCountry},
		{"country JP", "127.0.4.20", "", "jp", redirect.TierCountry},
		{"continent: AT to DE or FR", "127.0.6.20", "", "de fr", redirect.TierContinent},
		{"continent: FR without fr", "127.0.2.20", "fr", "de", redirect.TierContinent},
		{"nearest: BR to US", "127.0.5.20", "", "us", redirect.TierDistance},
		// From New York, Paris is 5,940 km away and Frankfurt 6,250 km: one band.
		{"nearest band: US without us", "127.0.3.20", "us", "de fr", redirect.TierDistance},
		// From Tokyo, Frankfurt is 9,200 km away and Paris 9,920 km.
		{"nearest: JP without jp to DE", "127.0.4.20", "jp", "de", redirect.TierDistance},
		{"unknown client: any", "127.0.0.1", "", "de fr jp us", redirect.TierAny},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := w.without(tt.remove)
			obj, _ := m.Lookup("pool/a.iso")
			client := db.Lookup(mustAddr(tt.ip))
			firsts := map[string]bool{}
			src := seeded(7)
			for i := 0; i < 200; i++ {
				chosen, _ := redirect.Select(m, obj, client, "https", redirect.SelectOptions{Rand: src})
				firsts[chosen[0].Mirror.Name] = true
				if chosen[0].Tier != tt.tier {
					t.Fatalf("tier %v, want %v", chosen[0].Tier, tt.tier)
				}
				checkOrdered(t, chosen)
			}
			var got []string
			for n := range firsts {
				got = append(got, n)
			}
			sort.Strings(got)
			if strings.Join(got, " ") != tt.want {
				t.Errorf("first choices %v, want %s", got, tt.want)
			}
		})
	}
}

// checkOrdered fails unless candidates come in tier order, and by band
// within the distance tier.
func checkOrdered(t *testing.T, cs []redirect.Candidate) {
	t.Helper()
	for i := 1; i < len(cs); i++ {
		a, b := cs[i-1], cs[i]
		if a.Tier > b.Tier || a.Tier == b.Tier && a.Band > b.Band {
			t.Fatalf("candidates out of order: %s (%v, band %d) before %s (%v, band %d)",
				a.Mirror.Name, a.Tier, a.Band, b.Mirror.Name, b.Tier, b.Band)
		}
	}
}

func TestRedirectSelectASN(t *testing.T) {
	w := geoWorld(t)
	inAS := mirror("in-as", "US", 1, config.AccessHTTPS)
	inAS.ASN = 64502
	holdAll(w.World, inAS)
	m := w.Map()
	obj, _ := m.Lookup("pool/a.iso")
	client := geoDB(t).Lookup(mustAddr("127.0.2.1")) // FR, in no ASN database
	client.ASN = 64502                               // as an ASN database would say
	chosen, _ := redirect.Select(m, obj, client, "https", redirect.SelectOptions{})
	if chosen[0].Mirror.Name != "in-as" || chosen[0].Tier != redirect.TierASN || chosen[1].Mirror.Name != "fr" {
		t.Errorf("first %s (%v), then %s; want in-as (asn), then fr", chosen[0].Mirror.Name, chosen[0].Tier, chosen[1].Mirror.Name)
	}
}

func TestRedirectSelectBands(t *testing.T) {
	// A client in Tokyo with no mirror in Asia: Sydney is 7,680 km away,
	// Auckland 9,080 km, the US mirror 10,250 km. With a 2,000 km band
	// Sydney and Auckland share the first place; with the default 500 km
	// they do not. The US mirror comes last either way.
	w := newWorld(t)
	holdAll(w, mirror("au", "AU", 100, config.AccessHTTPS))
	holdAll(w, mirror("nz", "NZ", 100, config.AccessHTTPS))
	holdAll(w, mirror("us", "US", 100, config.AccessHTTPS))
	m := w.Map()
	obj, _ := m.Lookup("pool/a.iso")
	client := geo.Location{Country: "JP", Continent: "AS", Lat: 35.7, Lon: 139.7, HasCoords: true}
	for _, tt := range []struct {
		band float64
		want string
	}{{0, "au"}, {2000, "au nz"}} {
		firsts := map[string]bool{}
		src := seeded(3)
		for i := 0; i < 200; i++ {
			chosen, _ := redirect.Select(m, obj, client, "https", redirect.SelectOptions{Rand: src, DistanceBand: tt.band})
			firsts[chosen[0].Mirror.Name] = true
			if last := chosen[len(chosen)-1]; last.Mirror.Name != "us" {
				t.Fatalf("band %v: last %s, want us", tt.band, last.Mirror.Name)
			}
		}
		var got []string
		for n := range firsts {
			got = append(got, n)
		}
		sort.Strings(got)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("band %v: first choices %v, want %s", tt.band, got, tt.want)
		}
	}
}

// benchWorld has 60 mirrors over 30 countries and 1,000 objects.
func benchWorld(b *testing.B) *availability.Map {
	files := map[string][]byte{}
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("pool/main/p%04d/p%04d_1.0_amd64.deb", i, i)] = []byte{byte(i)}
	}
	w, err := availtest.New("repo.example.org", files)
	if err != nil {
		b.Fatal(err)
	}
	cc := []string{"DE", "FR", "NL", "GB", "SE", "FI", "PL", "IT", "ES", "CZ", "AT", "CH", "RU",
		"US", "CA", "MX", "BR", "AR", "CL", "JP", "KR", "CN", "IN", "SG", "TW", "ID", "AU", "NZ", "ZA", "KE"}
	for i := 0; i < 60; i++ {
		kinds := []config.AccessKind{config.AccessHTTPS}
		if i%2 == 0 {
			kinds = append(kinds, config.AccessHTTP)
		}
		holdAll(w, mirror(fmt.Sprintf("m%02d", i), cc[i%len(cc)], 50+i*13%900, kinds...))
	}
	return w.Map()
}

func BenchmarkRedirectSelect60(b *testing.B) {
	m := benchWorld(b)
	obj, _ := m.Lookup("pool/main/p0500/p0500_1.0_amd64.deb")
	for _, tt := range []struct {
		name   string
		client geo.Location
	}{
		{"DE", geo.Location{Country: "DE", Continent: "EU", Lat: 50.1, Lon: 8.7, HasCoords: true}},
		{"EG", geo.Location{Country: "EG", Continent: "AF", Lat: 30, Lon: 31, HasCoords: true}},
		{"unknown", geo.Location{}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				redirect.Select(m, obj, tt.client, "https", redirect.SelectOptions{})
			}
		})
	}
}

func BenchmarkRedirectHandler60(b *testing.B) {
	h := redirect.Handler(staticSource(benchWorld(b)), geoDB(b), redirect.Options{Candidates: 5, TrustedProxies: loopback})
	for _, xff := range []string{"127.0.1.3", "127.0.5.3", "192.0.2.1"} {
		b.Run(xff, func(b *testing.B) {
			req := httptest.NewRequest("GET", "http://hub/pool/main/p0500/p0500_1.0_amd64.deb", nil)
			req.RemoteAddr = "127.0.0.1:5000"
			req.Header.Set("X-Forwarded-For", xff)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(&nullWriter{h: http.Header{}}, req)
			}
		})
	}
}

// TestRedirectSelectConsistent checks that every mirror is either chosen or
// excluded with a reason, for every object, scheme and policy: the index
// ranking uses and the rules the mirror list explains agree.
func TestRedirectSelectConsistent(t *testing.T) {
	w := badWorld(t)
	holdAll(w, mirror("mixed", "NL", 10, config.AccessHTTP, config.AccessHTTPS, config.AccessFTP))
	w.Result("mixed").Access[1].Reachable = false
	m := w.Map()
	m.Objects(func(obj availability.Object) bool {
		for _, scheme := range []string{"http", "https"} {
			for _, insecure := range []bool{false, true} {
				chosen, excluded := redirect.Select(m, obj, geo.Location{}, scheme, redirect.SelectOptions{AllowInsecure: insecure})
				if len(chosen)+len(excluded) != len(m.Mirrors()) {
					t.Errorf("%s %s: %d chosen + %d excluded, want %d mirrors", obj.Path, scheme, len(chosen), len(excluded), len(m.Mirrors()))
				}
				for _, x := range excluded {
					if x.Reason == "" {
						t.Errorf("%s %s (insecure %v): %s excluded without a reason", obj.Path, scheme, insecure, x.Mirror)
					}
				}
			}
		}
		return true
	})
}
