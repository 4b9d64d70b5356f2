package redirect_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/redirect"
)

func TestRedirectNeverToUnfitMirror(t *testing.T) {
	srv := serve(t, badWorld(t).Map(), nil, redirect.Options{Candidates: 5, SelectOptions: redirect.SelectOptions{Rand: seeded(99)}})
	good := map[string]bool{"good1": true, "good2": true, "good3": true}
	c := noFollow()
	check := func(resp *http.Response) string {
		t.Helper()
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %s", resp.Status)
		}
		first := mirrorOf(t, resp.Header.Get("Location"))
		if !good[first] {
			t.Fatalf("redirected to %s", resp.Header.Get("Location"))
		}
		for _, l := range resp.Header.Values("Link") {
			if strings.Contains(l, "rel=duplicate") && !good[mirrorOf(t, l[1:strings.IndexByte(l, '>')])] {
				t.Fatalf("alternative %s", l)
			}
		}
		return first
	}
	// Sequentially, with the seeded source: the shares follow the weights.
	counts := map[string]int{}
	const n = 3000
	for i := 0; i < n; i++ {
		counts[check(get(t, c, "GET", srv.URL+"/pool/a.iso"))]++
	}
	weights := map[string]int{"good1": 100, "good2": 300, "good3": 600}
	if x := chiSquare(counts, weights); x > chiSquare2DoF999 {
		t.Errorf("shares %v for weights %v: chi-square %.2f > %.2f", counts, weights, x, chiSquare2DoF999)
	}
	// Concurrently, for the race detector.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				check(get(t, c, "HEAD", srv.URL+"/pool/a.iso"))
			}
		}()
	}
	wg.Wait()
}

// headerWorld has one https mirror each in DE (with http too), FR, US and
// JP. From Frankfurt the order is fixed: de (country), fr (continent), us
// (7,600 km), jp (9,300 km).
func headerWorld(t testing.TB) *availability.Map {
	w := newWorld(t)
	holdAll(w, mirror("de", "DE", 100, config.AccessHTTP, config.AccessHTTPS))
	holdAll(w, mirror("fr", "FR", 100, config.AccessHTTPS))
	holdAll(w, mirror("us", "US", 100, config.AccessHTTPS))
	holdAll(w, mirror("jp", "JP", 100, config.AccessHTTPS))
	return w.Map().WithFallback("https://origin.example/pub/")
}

func TestRedirectHeaders(t *testing.T) {
	srv := serve(t, headerWorld(t), geoDB(t), redirect.Options{Candidates: 2, TrustedProxies: loopback})
	sum := sha256.Sum256(testFiles["dir/x y+z%.txt"])
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	want := http.Header{
		"Location": {"http://de.example/pub/dir/x%20y+z%25.txt"},
		"Link": {
			"<https://fr.example/pub/dir/x%20y+z%25.txt>; rel=duplicate; pri=1; geo=fr",
			"<https://us.example/pub/dir/x%20y+z%25.txt>; rel=duplicate; pri=2; geo=us",
			`</dir/x%20y+z%25.txt.meta4>; rel=describedby; type="application/metalink4+xml"`,
		},
		"Repr-Digest":    {"sha-256=:" + b64 + ":"},
		"Digest":         {"SHA-256=" + b64},
		"Cache-Control":  {"private, no-store"},
		"Content-Length": {"0"},
	}
	for _, method := range []string{"GET", "HEAD"} {
		resp := get(t, noFollow(), method, srv.URL+"/dir/x%20y+z%25.txt", "X-Forwarded-For", "127.0.1.9")
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Header.Del("Date")
		if resp.StatusCode != http.StatusFound || len(body) != 0 || !equalHeader(resp.Header, want) {
			t.Errorf("%s: %s, body %q\nheaders %v\nwant    %v", method, resp.Status, body, resp.Header, want)
		}
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestRedirectGeoHTTP(t *testing.T) {
	m := headerWorld(t)
	db := geoDB(t)
	trusting := serve(t, m, db, redirect.Options{TrustedProxies: loopback})
	trustless := serve(t, m, db, redirect.Options{})
	for _, tt := range []struct {
		name, url, xff, want string
	}{
		{"trusted proxy, DE client", trusting.URL, "127.0.1.9", "de"},
		{"trusted proxy, JP client", trusting.URL, "127.0.4.9", "jp"},
		{"trusted proxy, chain", trusting.URL, "127.0.2.1, 127.0.4.9", "jp"},
		{"untrusted peer: header ignored", trustless.URL, "127.0.4.9", ""},
	} {
		resp := get(t, noFollow(), "GET", tt.url+"/pool/a.iso?mirrorlist=json", "X-Forwarded-For", tt.xff)
		var l redirect.List
		err := json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		first, tier := l.Mirrors[0].Name, l.Mirrors[0].Tier
		if tt.want == "" && tier != "any" || tt.want != "" && (first != tt.want || tier != "country") {
			t.Errorf("%s: first %s (tier %s), want %q", tt.name, first, tier, tt.want)
		}
	}
	// A client connecting from a German address, no proxy involved.
	c := noFollow()
	c.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.1.77")}}).DialContext}
	for i := 0; i < 20; i++ {
		resp := get(t, c, "GET", trustless.URL+"/pool/b.jar")
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != "http://de.example/pub/pool/b.jar" {
			t.Fatalf("from 127.0.1.77: Location %s, want the DE mirror's", got)
		}
	}
}

func TestRedirectClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tt := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1234", []string{"198.51.100.7"}, "192.0.2.1"},
		{"127.0.0.1:1234", nil, "127.0.0.1"},
		{"127.0.0.1:1234", []string{"198.51.100.7"}, "198.51.100.7"},
		{"127.0.0.1:1234", []string{"203.0.113.9, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"127.0.0.1:1234", []string{"203.0.113.9, 198.51.100.7", "10.1.2.3"}, "198.51.100.7"},
		{"127.0.0.1:1234", []string{"10.0.0.9, 10.1.2.3"}, "10.0.0.9"},
		{"127.0.0.1:1234", []string{"junk, 198.51.100.7"}, "198.51.100.7"},
		{"127.0.0.1:1234", []string{"198.51.100.7, junk"}, "127.0.0.1"},
		{"127.0.0.1:1234", []string{"10.0.0.9, junk"}, "127.0.0.1"},
		{"127.0.0.1:1234", []string{"198.51.100.7:5555"}, "198.51.100.7"},
		{"127.0.0.1:1234", []string{"[2001:db8::1]:80"}, "2001:db8::1"},
		{"127.0.0.1:1234", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"127.0.0.1:1234", []string{"fe80::1%eth0"}, "127.0.0.1"},
		{"[::1]:1234", []string{"2001:db8::2"}, "2001:db8::2"},
		{"[::ffff:127.0.0.1]:1234", []string{"198.51.100.7"}, "198.51.100.7"},
		{"not an address", nil, "invalid IP"},
	} {
		r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := redirect.ClientIP(r, trusted).String(); got != tt.want {
			t.Errorf("ClientIP(%s, %q) = %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}

func TestRedirectHTTPS(t *testing.T) {
	w := newWorld(t)
	holdAll(w, mirror("plain", "", 100, config.AccessHTTP))
	holdAll(w, mirror("both", "", 100, config.AccessHTTP, config.AccessHTTPS))
	holdAll(w, mirror("secure", "", 100, config.AccessHTTPS))
	m := w.Map()
	h := redirect.Handler(staticSource(m), nil, redirect.Options{TrustedProxies: loopback})
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	plainSrv := serve(t, m, nil, redirect.Options{TrustedProxies: loopback})
	insecure := serve(t, m, nil, redirect.Options{SelectOptions: redirect.SelectOptions{AllowInsecure: true}})
	c := noFollow()
	c.Transport = tlsSrv.Client().Transport
	for _, tt := range []struct {
		name, url string
		headers   []string
		want      string // locations seen, sorted
	}{
		{"over TLS", tlsSrv.URL, nil, "https://both https://secure"},
		{"behind a TLS proxy", plainSrv.URL, []string{"X-Forwarded-Proto", "https"}, "https://both https://secure"},
		{"plain http", plainSrv.URL, nil, "http://both http://plain https://secure"},
		{"untrusted X-Forwarded-Proto", insecure.URL, []string{"X-Forwarded-Proto", "https"}, "http://both http://plain https://secure"},
	} {
		seen := map[string]bool{}
		for i := 0; i < 100; i++ {
			resp := get(t, c, "GET", tt.url+"/new.txt", tt.headers...)
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			seen[loc[:strings.Index(loc, ".example")]] = true
		}
		var got []string
		for s := range seen {
			got = append(got, s)
		}
		sort.Strings(got)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: redirected to %v, want %s", tt.name, got, tt.want)
		}
	}
}

func TestRedirectFallback(t *testing.T) {
	w := badWorld(t)
	w.Latest = nil // nobody checked: every object goes to the fall-back
	m := w.Map().WithFallback("https://origin.example/pub/")
	srv := serve(t, m, nil, redirect.Options{})
	override := serve(t, m, nil, redirect.Options{Fallback: "http://other.example/"})
	sum := sha256.Sum256(testFiles["pool/a.iso"])
	for _, tt := range []struct {
		url, path, want string
		digest          bool
	}{
		{srv.URL, "/pool/a.iso", "https://origin.example/pub/pool/a.iso", true},
		{srv.URL, "/no/such%20file", "https://origin.example/pub/no/such%20file", false},
		{srv.URL, "/pool/", "https://origin.example/pub/pool/", false},
		{srv.URL, "/", "https://origin.example/pub/", false},
		{srv.URL, "/.pando/checkpoint", "https://origin.example/pub/.pando/checkpoint", false},
		{srv.URL, "/pool/a.iso?x=1", "https://origin.example/pub/pool/a.iso", true},
		{override.URL, "/pool/a.iso", "http://other.example/pool/a.iso", true},
	} {
		resp := get(t, noFollow(), "GET", tt.url+tt.path)
		resp.Body.Close()
		digest := resp.Header.Get("Digest") == "SHA-256="+base64.StdEncoding.EncodeToString(sum[:])
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tt.want || digest != tt.digest ||
			resp.Header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("%s: %s to %s (digest %v), want 302 to %s (digest %v)", tt.path, resp.Status,
				resp.Header.Get("Location"), digest, tt.want, tt.digest)
		}
	}
	for _, tt := range []struct {
		m    *availability.Map
		want int
	}{{nil, http.StatusServiceUnavailable}, {w.Map(), http.StatusNotFound}} {
		srv := serve(t, tt.m, nil, redirect.Options{})
		resp := get(t, noFollow(), "GET", srv.URL+"/pool/a.iso")
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("map %v without a fall-back: %s, want %d", tt.m, resp.Status, tt.want)
		}
	}
}

// rawStatus sends a request line as written and returns the status code.
func rawStatus(t *testing.T, addr, line string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s\r\nHost: test\r\nConnection: close\r\n\r\n", line)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRedirectBadPaths(t *testing.T) {
	srv := serve(t, headerWorld(t), nil, redirect.Options{})
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, p := range []string{
		"/../etc/passwd", "/pool/../../etc/passwd", "/pool/./a.iso", "/pool//a.iso", "/%2e%2e/etc/passwd",
		"/pool%2fa.iso", "/pool%2Fa.iso", "/a%00b", "/a%0ab", "/a%5cb", "/a\\b", "/%ff", "/" + strings.Repeat("a/", 600) + "x",
		"/.pando/../pool/a.iso",
	} {
		if got := rawStatus(t, addr, "GET "+p+" HTTP/1.1"); got != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", p, got)
		}
	}
	if got := rawStatus(t, addr, "POST /pool/a.iso HTTP/1.1"); got != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", got)
	}
	if got := rawStatus(t, addr, "GET /pool/a.iso HTTP/1.1"); got != http.StatusFound {
		t.Errorf("GET /pool/a.iso: %d, want 302", got)
	}
}

func TestRedirectMirrorlist(t *testing.T) {
	m := badWorld(t).Map().WithFallback("https://origin.example/pub/")
	srv := serve(t, m, nil, redirect.Options{SelectOptions: redirect.SelectOptions{Rand: seeded(5)}})
	for _, tt := range []struct{ query, accept string }{
		{"?mirrorlist=json", ""}, {"?mirrorlist", "application/json"}, {"?mirrorlist", "text/plain, application/json;q=0.5"},
	} {
		resp := get(t, noFollow(), "GET", srv.URL+"/pool/a.iso"+tt.query, "Accept", tt.accept)
		var l redirect.List
		err := json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Vary") != "Accept" {
			t.Fatalf("%s (Accept %q): %v, %v", tt.query, tt.accept, err, resp.Header)
		}
		sum := sha256.Sum256(testFiles["pool/a.iso"])
		if l.Path != "pool/a.iso" || l.Size != int64(len(testFiles["pool/a.iso"])) || l.SHA256 != fmt.Sprintf("%x", sum) ||
			l.Fallback != "https://origin.example/pub/pool/a.iso" {
			t.Errorf("list header = %+v", l)
		}
		var names []string
		for i, e := range l.Mirrors {
			names = append(names, e.Name)
			scheme := map[string]string{"good1": "http", "good2": "https", "good3": "http"}[e.Name]
			if e.Priority != i+1 || e.URL != scheme+"://"+e.Name+".example/pub/pool/a.iso" || e.DistanceKm != nil || e.Tier != "any" {
				t.Errorf("entry %d = %+v", i, e)
			}
		}
		sort.Strings(names)
		if strings.Join(names, " ") != "good1 good2 good3" || len(l.Excluded) != 9 || l.Excluded[5].Reason != redirect.Untrusted {
			t.Errorf("mirrors %v, excluded %+v", names, l.Excluded)
		}
	}

	resp := get(t, noFollow(), "GET", srv.URL+"/%3Cb%3E&amp;%22q%22.txt?mirrorlist", "Accept", "text/html,application/json")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!strings.Contains(page, "<title>Mirrors of &lt;b&gt;&amp;amp;&#34;q&#34;.txt</title>") ||
		!strings.Contains(page, `href="http://good3.example/pub/%3Cb%3E&amp;amp;%22q%22.txt"`) ||
		!strings.Contains(page, "<li>tampered: untrusted (hash problem over http at pool/b.jar)</li>") ||
		strings.Contains(page, "<b>") {
		t.Errorf("HTML mirror list:\n%s", page)
	}
	resp = get(t, noFollow(), "GET", srv.URL+"/no/such?mirrorlist")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("mirror list of an unknown file: %s", resp.Status)
	}
}

// metalink4 is the part of a Metalink v4 document the tests read.
type metalink4 struct {
	XMLName xml.Name `xml:"urn:ietf:params:xml:ns:metalink metalink"`
	Files   []struct {
		Name string `xml:"name,attr"`
		Size int64  `xml:"size"`
		Hash struct {
			Type  string `xml:"type,attr"`
			Value string `xml:",chardata"`
		} `xml:"hash"`
		URLs []struct {
			Location string `xml:"location,attr"`
			Priority int    `xml:"priority,attr"`
			URL      string `xml:",chardata"`
		} `xml:"url"`
	} `xml:"file"`
}

func TestRedirectMetalink(t *testing.T) {
	srv := serve(t, headerWorld(t), geoDB(t), redirect.Options{TrustedProxies: loopback})
	resp := get(t, noFollow(), "GET", srv.URL+"/pool/a.iso.meta4", "X-Forwarded-For", "127.0.1.1")
	var ml metalink4
	err := xml.NewDecoder(resp.Body).Decode(&ml)
	resp.Body.Close()
	if err != nil || resp.Header.Get("Content-Type") != "application/metalink4+xml" {
		t.Fatalf("meta4: %v, %v", err, resp.Header)
	}
	sum := sha256.Sum256(testFiles["pool/a.iso"])
	f := ml.Files[0]
	var urls []string
	for _, u := range f.URLs {
		urls = append(urls, fmt.Sprintf("%d %s %s", u.Priority, u.Location, u.URL))
	}
	want := []string{
		"1 de http://de.example/pub/pool/a.iso", "2 fr https://fr.example/pub/pool/a.iso",
		"3 us https://us.example/pub/pool/a.iso", "4 jp https://jp.example/pub/pool/a.iso",
		"5  https://origin.example/pub/pool/a.iso",
	}
	if len(ml.Files) != 1 || f.Name != "a.iso" || f.Size != int64(len(testFiles["pool/a.iso"])) || f.Hash.Type != "sha-256" ||
		f.Hash.Value != fmt.Sprintf("%x", sum) || strings.Join(urls, "\n") != strings.Join(want, "\n") {
		t.Errorf("meta4 = %+v\nurls:\n%s\nwant:\n%s", ml, strings.Join(urls, "\n"), strings.Join(want, "\n"))
	}
	// x.iso.meta4 is an object of its own: it is redirected, not generated.
	resp = get(t, noFollow(), "GET", srv.URL+"/x.iso.meta4")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasSuffix(resp.Header.Get("Location"), "/pub/x.iso.meta4") {
		t.Errorf("/x.iso.meta4: %s to %s, want a redirect", resp.Status, resp.Header.Get("Location"))
	}
	resp = get(t, noFollow(), "GET", srv.URL+"/nothing.meta4")
	resp.Body.Close()
	if resp.Header.Get("Location") != "https://origin.example/pub/nothing.meta4" {
		t.Errorf("/nothing.meta4: %s to %s, want the fall-back", resp.Status, resp.Header.Get("Location"))
	}
}

func TestRedirectMirrorsJSON(t *testing.T) {
	srv := serve(t, badWorld(t).Map(), nil, redirect.Options{})
	resp := get(t, noFollow(), "GET", srv.URL+"/mirrors.json")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{
  "mirrors": [
    {
      "url_prefix": "https://good1.example/pub/",
      "weight": 100,
      "country": "DE",
      "continent": "EU"
    },
    {
      "url_prefix": "https://good2.example/pub/",
      "weight": 300,
      "country": "FR",
      "continent": "EU"
    },
    {
      "url_prefix": "http://good3.example/pub/",
      "weight": 600,
      "country": "US",
      "continent": "NA"
    },
    {
      "url_prefix": "http://missing.example/pub/",
      "weight": 1000,
      "country": "DE",
      "continent": "EU"
    },
    {
      "url_prefix": "http://stale.example/pub/",
      "weight": 1000,
      "country": "DE",
      "continent": "EU"
    },
    {
      "url_prefix": "http://wrongbytes.example/pub/",
      "weight": 1000,
      "country": "DE",
      "continent": "EU"
    },
    {
      "url_prefix": "http://failed.example/pub/",
      "weight": 1000,
      "country": "DE",
      "continent": "EU"
    }
  ]
}
`
	if string(body) != want || resp.Header.Get("Cache-Control") != "public, max-age=60" ||
		resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("mirrors.json: %v\n%s", resp.Header, body)
	}
}

func TestRedirectEscapePath(t *testing.T) {
	w := newWorld(t)
	holdAll(w, mirror("m", "", 1, config.AccessHTTPS))
	m := w.Map()
	for p, want := range map[string]string{
		"pool/a.iso":          "https://m.example/pub/pool/a.iso",
		"dir/x y+z%.txt":      "https://m.example/pub/dir/x%20y+z%25.txt",
		"<b>&amp;\"q\".txt":   "https://m.example/pub/%3Cb%3E&amp;%22q%22.txt",
		"deep/er/still/f.bin": "https://m.example/pub/deep/er/still/f.bin",
	} {
		obj, _ := m.Lookup(p)
		chosen, _ := redirect.Select(m, obj, geo.Location{}, "https", redirect.SelectOptions{})
		if chosen[0].URL != want {
			t.Errorf("%q: %s, want %s", p, chosen[0].URL, want)
		}
	}
}

func BenchmarkRedirectHandler(b *testing.B) {
	h := redirect.Handler(staticSource(headerWorld(b)), geoDB(b), redirect.Options{Candidates: 5, TrustedProxies: loopback})
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://hub/pool/a.iso", nil)
	req.RemoteAddr = "127.0.0.1:5000"
	req.Header.Set("X-Forwarded-For", "127.0.2.3")
	b.ReportAllocs()
	for b.Loop() {
		w := &nullWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
	}
}

type nullWriter struct{ h http.Header }

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(int)             {}

// answerWriter records the answers the Handler gives it and wraps another
// writer.
type answerWriter struct {
	http.ResponseWriter
	answers []redirect.Answer
}

func (w *answerWriter) RecordAnswer(a redirect.Answer) { w.answers = append(w.answers, a) }

func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// plainWrapper wraps a writer without wanting answers.
type plainWrapper struct{ http.ResponseWriter }

func (w plainWrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestRedirectRecordsAnswer checks that every Recorder down the chain of
// writers learns where a request for an object went, and that other
// requests tell them nothing.
func TestRedirectRecordsAnswer(t *testing.T) {
	w := newWorld(t)
	holdAll(w, mirror("de", "DE", 100, config.AccessHTTPS))
	holdAll(w, mirror("jp", "JP", 100, config.AccessHTTPS))
	if err := w.Link("latest.iso", "pool/a.iso"); err != nil {
		t.Fatal(err)
	}
	m := w.Map().WithFallback("https://origin.example/pub/")
	unchecked := *w
	unchecked.Latest = nil // nobody checked: objects go to the fall-back
	db := geoDB(t)
	fresh := redirect.Handler(staticSource(m), db, redirect.Options{TrustedProxies: loopback})
	stale := redirect.Handler(staticSource(unchecked.Map().WithFallback("https://origin.example/pub/")), db, redirect.Options{TrustedProxies: loopback})
	for _, tt := range []struct {
		name string
		h    http.Handler
		path string
		want []redirect.Answer // nil: no answer
	}{
		{"redirect", fresh, "/pool/a.iso", []redirect.Answer{{Path: "pool/a.iso", Mirror: "de", Country: "DE"}}},
		{"through a symlink", fresh, "/latest.iso", []redirect.Answer{{Path: "pool/a.iso", Mirror: "de", Country: "DE"}}},
		{"fall-back for an object", stale, "/pool/b.jar", []redirect.Answer{{Path: "pool/b.jar", Country: "DE"}}},
		{"not an object", fresh, "/no/such.iso", nil},
		{"mirror list", fresh, "/pool/a.iso?mirrorlist", nil},
		{"metalink", fresh, "/pool/a.iso.meta4", nil},
		{"directory", fresh, "/pool/", nil},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://hub"+tt.path, nil)
		req.RemoteAddr = "127.0.0.1:5000"
		req.Header.Set("X-Forwarded-For", "127.0.1.9") // a German client
		inner := &answerWriter{ResponseWriter: httptest.NewRecorder()}
		outer := &answerWriter{ResponseWriter: plainWrapper{inner}}
		tt.h.ServeHTTP(outer, req)
		for _, got := range [][]redirect.Answer{outer.answers, inner.answers} {
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: answers %+v, want %+v", tt.name, got, tt.want)
			}
		}
	}
}
