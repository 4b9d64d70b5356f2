package redirect_test

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/geo/geotest"
	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/internal/store"
)

// lockedSource makes a seeded random source safe for a concurrent handler.
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (l *lockedSource) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src.Uint64()
}

func seeded(seed uint64) rand.Source {
	return &lockedSource{src: rand.NewPCG(seed, 1)}
}

// files is the test origin's tree.
var testFiles = map[string][]byte{
	"pool/a.iso":          []byte("the a image"),
	"pool/b.jar":          []byte("bbb"),
	"new.txt":             []byte("just published"),
	"dir/x y+z%.txt":      []byte("odd name"),
	"x.iso":               []byte("x"),
	"x.iso.meta4":         []byte("a file that happens to end in .meta4"),
	"<b>&amp;\"q\".txt":   []byte("html in a name"),
	"deep/er/still/f.bin": []byte("f"),
}

// mirror returns a registry entry with the given access kinds at
// <kind>://<name>.example/pub/.
func mirror(name, country string, weight int, kinds ...config.AccessKind) config.Mirror {
	m := config.Mirror{Name: name, Country: country, Weight: weight}
	for _, k := range kinds {
		u := string(k) + "://" + name + ".example/pub/"
		switch k {
		case config.AccessHTTP:
			m.HTTP = u
		case config.AccessHTTPS:
			m.HTTPS = u
		case config.AccessFTP:
			m.FTP = u
		}
	}
	return m
}

func newWorld(t testing.TB) *availtest.World {
	t.Helper()
	w, err := availtest.New("repo.example.org", testFiles)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// holdAll adds m holding every file over each of its access points.
func holdAll(w *availtest.World, m config.Mirror) {
	w.AddMirror(m)
	for _, a := range m.Access() {
		w.Hold(m.Name, a.Kind)
	}
}

// badWorld has three good mirrors with weights 100, 300 and 600 and one
// mirror for every way a mirror can be unfit to serve pool/a.iso.
func badWorld(t testing.TB) *availtest.World {
	w := newWorld(t)
	holdAll(w, mirror("good1", "DE", 100, config.AccessHTTP, config.AccessHTTPS))
	holdAll(w, mirror("good2", "FR", 300, config.AccessHTTPS))
	holdAll(w, mirror("good3", "US", 600, config.AccessHTTP))

	w.AddMirror(mirror("missing", "DE", 1000, config.AccessHTTP))
	w.Hold("missing", config.AccessHTTP, "pool/b.jar", "new.txt")

	w.AddMirror(mirror("stale", "DE", 1000, config.AccessHTTP))
	w.Hold("stale", config.AccessHTTP)
	setState(w, "stale", "pool/a.iso", func(s *store.ObjectState) { s.Record-- })

	w.AddMirror(mirror("wrongbytes", "DE", 1000, config.AccessHTTP))
	w.Hold("wrongbytes", config.AccessHTTP)
	setState(w, "wrongbytes", "pool/a.iso", func(s *store.ObjectState) { s.SHA256 = strings.Repeat("ab", 32) })

	w.AddMirror(mirror("failed", "DE", 1000, config.AccessHTTP))
	w.Hold("failed", config.AccessHTTP)
	setState(w, "failed", "pool/a.iso", func(s *store.ObjectState) { s.OK = false })

	holdAll(w, mirror("disabled", "DE", 0, config.AccessHTTP))

	holdAll(w, mirror("tampered", "DE", 1000, config.AccessHTTP))
	w.Result("tampered").Problems = []store.Problem{{Kind: store.Hash, Access: "http", Path: "pool/b.jar"}}

	holdAll(w, mirror("forked", "DE", 1000, config.AccessHTTP))
	w.Result("forked").Problems = []store.Problem{{Kind: store.Fork, Access: "http"}}

	holdAll(w, mirror("down", "DE", 1000, config.AccessHTTP))
	w.Result("down").Access[0].Reachable = false

	holdAll(w, mirror("ftponly", "DE", 1000, config.AccessFTP))
	return w
}

func setState(w *availtest.World, mirror, path string, f func(*store.ObjectState)) {
	for i := range w.Objects[mirror] {
		if w.Objects[mirror][i].Path == path {
			f(&w.Objects[mirror][i])
		}
	}
}

func staticSource(m *availability.Map) func() *availability.Map {
	return func() *availability.Map { return m }
}

// serve starts the redirector over m on 127.0.0.1:0.
func serve(t testing.TB, m *availability.Map, g *geo.DB, opts redirect.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(redirect.Handler(staticSource(m), g, opts))
	t.Cleanup(srv.Close)
	return srv
}

// noFollow is a client that returns redirects instead of following them.
func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get requests path (already escaped) with optional headers (name, value, ...).
func get(t testing.TB, c *http.Client, method, u string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// mirrorOf returns the mirror name of a redirect URL (<name>.example).
func mirrorOf(t testing.TB, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("bad URL %q: %v", loc, err)
	}
	name, ok := strings.CutSuffix(u.Hostname(), ".example")
	if !ok {
		t.Fatalf("URL %q is not a test mirror's", loc)
	}
	return name
}

func geoDB(t testing.TB) *geo.DB {
	t.Helper()
	name, err := geotest.WriteDefault(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db, err := geo.Open(name, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// A redirectWorld is a world whose registry can be thinned per test.
type redirectWorld struct{ *availtest.World }

// without compiles the map with the mirror called name left out of the
// registry ("" for none).
func (w *redirectWorld) without(name string) *availability.Map {
	c := *w.World
	c.Mirrors = nil
	for _, m := range w.Mirrors {
		if m.Name != name {
			c.Mirrors = append(c.Mirrors, m)
		}
	}
	return c.Map()
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
