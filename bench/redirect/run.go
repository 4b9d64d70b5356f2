package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/availability"
)

// figures are everything the run measured.
type figures struct {
	objects, mirrors, slots int
	compile, decode         time.Duration
	mapBytes                int
	startToRedirect         time.Duration
	loggedStartup           string
	rssReady, rssAfter, hwm int64
	loads                   []loadSet
	pinning                 pinning
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if cfg.minimal != "" {
		return serveMinimal(ctx, cfg.minimal)
	}
	dir, err := workDir(cfg)
	if err != nil {
		return err
	}
	if cfg.keep == "" {
		defer os.RemoveAll(dir)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "bench/redirect: "+format+"\n", args...) }
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is not on PATH (apt-get install wrk): %w", err)
	}
	pando, err := buildPando(ctx, cfg, dir)
	if err != nil {
		return err
	}
	logf("generating %d objects x %d mirrors", cfg.objects, cfg.mirrors)
	var f figures
	m, mapFile, pub, err := prepareMap(cfg, dir, &f)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 3))
	geoFile, ips, err := makeGeo(dir, cfg.places, rng)
	if err != nil {
		return err
	}
	paths := samplePaths(m, rng, 2000)
	pin, err := newPinning(cfg)
	if err != nil {
		return err
	}
	f.pinning = pin
	cfg.threads = pin.wrkThreads(cfg.threads)
	edge, err := startEdge(ctx, pando, mapFile, pub, geoFile, paths[0], &f)
	if err != nil {
		return err
	}
	defer edge.stop()
	logf("edge ready in %v; checking redirects", f.startToRedirect)
	if err := checkRedirects(edge.addr, m, paths, ips); err != nil {
		return err
	}
	if cfg.load {
		if err := loadAll(ctx, cfg, dir, edge, paths, ips, &f, logf); err != nil {
			return err
		}
	}
	f.rssAfter, f.hwm, _ = edge.memory()
	report(stdout, cfg, f)
	return nil
}

// workDir returns -keep's directory, created if needed, or a new
// temporary one.
func workDir(cfg config) (string, error) {
	if cfg.keep == "" {
		return os.MkdirTemp("", "bench-redirect-")
	}
	return cfg.keep, os.MkdirAll(cfg.keep, 0o755)
}

// buildPando builds cmd/pando unless -pando names a binary.
func buildPando(ctx context.Context, cfg config, dir string) (string, error) {
	if cfg.pando != "" {
		return cfg.pando, nil
	}
	bin := filepath.Join(dir, "pando")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pando").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/pando (run from the repository root): %v\n%s", err, out)
	}
	return bin, nil
}

// prepareMap generates the world, times Compile (best of three), signs the
// map with a fresh hub key and times Decode.
func prepareMap(cfg config, dir string, f *figures) (*availability.Map, string, string, error) {
	w, err := makeWorld(cfg)
	if err != nil {
		return nil, "", "", err
	}
	var m *availability.Map
	for i := 0; i < 3; i++ {
		runtime.GC()
		start := time.Now()
		m = availability.Compile(w.Log, w.Mirrors, w.Latest, w.Objects, time.Now())
		if d := time.Since(start); i == 0 || d < f.compile {
			f.compile = d
		}
	}
	m = m.WithFallback("https://origin.example.org/pub/")
	f.objects, f.mirrors, f.slots = m.Len(), len(m.Mirrors()), m.Slots()
	skey, vkey, err := note.GenerateKey(nil, "hub.example.org")
	if err != nil {
		return nil, "", "", err
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	data, err := availability.Encode(m, signer)
	if err != nil {
		return nil, "", "", err
	}
	f.mapBytes = len(data)
	start := time.Now()
	if _, err := availability.Decode(data, verifier); err != nil {
		return nil, "", "", err
	}
	f.decode = time.Since(start)
	mapFile, pub := filepath.Join(dir, "availability.map"), filepath.Join(dir, "hub.pub")
	if err := os.WriteFile(mapFile, data, 0o644); err != nil {
		return nil, "", "", err
	}
	return m, mapFile, pub, os.WriteFile(pub, []byte(vkey+"\n"), 0o644)
}

// samplePaths returns n object paths, URL-escaped, from m.
func samplePaths(m *availability.Map, rng *rand.Rand, n int) []string {
	var all []string
	m.Objects(func(o availability.Object) bool {
		all = append(all, o.Path)
		return true
	})
	out := make([]string, n)
	for i := range out {
		out[i] = (&url.URL{Path: "/" + all[rng.IntN(len(all))]}).EscapedPath()
	}
	return out
}

// startEdge starts "pando redirect" and measures the time to its first
// redirect and its memory then.
func startEdge(ctx context.Context, pando, mapFile, pub, geoFile, firstPath string, f *figures) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := startProc(f.pinning.serverEnv(), addr, pando, "redirect", "--map", mapFile, "--pubkey", pub, "--listen", addr,
		"--geoip", geoFile, "--trusted-proxy", "127.0.0.1", "--reload", "0")
	if err != nil {
		return nil, err
	}
	if f.startToRedirect, err = p.waitRedirect(ctx, start, firstPath); err != nil {
		p.stop()
		return nil, err
	}
	f.loggedStartup = p.loggedStartup()
	f.rssReady, _, err = p.memory()
	return p, err
}

// checkRedirects checks a sample of the edge's answers against the map:
// every Location is an access point that is verified to hold the object.
func checkRedirects(addr string, m *availability.Map, paths, ips []string) error {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := 0; i < 500; i++ {
		p := paths[i%len(paths)]
		req, _ := http.NewRequest("GET", "http://"+addr+p, nil)
		req.Header.Set("X-Forwarded-For", ips[i%len(ips)])
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if err := checkLocation(m, p, resp); err != nil {
			return fmt.Errorf("GET %s from %s: %w", p, ips[i%len(ips)], err)
		}
	}
	return nil
}

func checkLocation(m *availability.Map, escaped string, resp *http.Response) error {
	u, _ := url.Parse(escaped)
	obj, ok := m.Lookup(strings.TrimPrefix(u.Path, "/"))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !ok {
		return fmt.Errorf("%s (object known: %v)", resp.Status, ok)
	}
	for _, mi := range m.Mirrors() {
		for _, a := range mi.Access {
			if strings.HasPrefix(loc, a.URL) {
				if !mi.Healthy() || !a.Reachable || !obj.Holds(a.Slot) {
					return fmt.Errorf("redirected to %s: mirror %s does not qualify", loc, mi.Name)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("redirected to %s, not a mirror", loc)
}
