// Package demo owns "pando demo": a whole mirror network on loopback for a
// first look: an origin with a sample repository, four mirrors synced with
// the real sync (one left stale, one tampered with, two run by the mirror
// agent), and a hub checking them and redirecting downloads, with its
// embedded store.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/check"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/hub"
	"github.com/pando-mirror/pando/internal/mirror"
	"github.com/pando-mirror/pando/internal/publish"
	"github.com/pando-mirror/pando/internal/safefile"
	"github.com/pando-mirror/pando/internal/serve"
	"github.com/pando-mirror/pando/internal/store"
)

// Options configure a demo.
type Options struct {
	Dir    string // where the trees, keys, hub.toml and store go; "" for a new temporary directory
	Listen string // the hub's address; default 127.0.0.1:8080, falling back to a free port
	Out    io.Writer
	Log    *slog.Logger
	Ready  func(Network) // called once everything serves (tests)
}

// Network is what a running demo consists of.
type Network struct {
	Dir     string
	Origin  string // URL
	PubKey  string // file
	Config  string // hub.toml
	Hub     string // URL
	Mirrors []Mirror
	Report  *check.Report
}

// A Mirror of the demo, and what was done to it.
type Mirror struct {
	Name, Country, URL, State string
	Agent                     bool   // run by the mirror agent, which re-syncs and reports downloads
	token                     string // the agent's stats token in hub.toml
}

const originName = "demo.pando.example"

// Run builds the network and serves it until ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "pando-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &demo{dir: dir, log: opts.Log, errs: make(chan error, 8)}
	ln, err := listen(opts.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	net, err := d.build(ctx, "http://"+ln.Addr().String()+"/")
	if err != nil {
		return err
	}
	return d.runHub(ctx, opts, net, ln)
}

type demo struct {
	dir      string
	log      *slog.Logger
	signer   note.Signer
	verifier note.Verifier
	errs     chan error
	agents   sync.WaitGroup // the mirror agents running
}

func (d *demo) build(ctx context.Context, hubURL string) (*Network, error) {
	if err := d.keys(); err != nil {
		return nil, err
	}
	origin := filepath.Join(d.dir, "origin")
	if err := sampleRepository(origin, "1.0"); err != nil {
		return nil, err
	}
	// The first release was published two hours ago, the second one hour
	// ago, so the mirror left behind is visibly stale.
	if err := d.publish(ctx, origin, 2*time.Hour); err != nil {
		return nil, err
	}
	n := &Network{Dir: d.dir, PubKey: filepath.Join(d.dir, "origin.pub"), Hub: hubURL}
	var err error
	if n.Origin, err = d.serveTree(ctx, origin); err != nil {
		return nil, err
	}
	n.Mirrors = []Mirror{
		{Name: "de-good", Country: "DE", State: "healthy, run by the mirror agent", Agent: true},
		{Name: "fr-good", Country: "FR", State: "healthy, run by the mirror agent", Agent: true},
		{Name: "us-stale", Country: "US", State: "stale: not synced since the last publish"},
		{Name: "nl-tampered", Country: "NL", State: "tampered: one byte of releases/1.0/pando-demo-1.0.iso changed"},
	}
	for _, m := range n.Mirrors {
		if err := d.sync(ctx, n.Origin, m.Name); err != nil {
			return nil, err
		}
	}
	// The origin publishes a new release; every mirror but the stale one follows.
	if err := sampleRepository(origin, "1.1"); err != nil {
		return nil, err
	}
	if err := d.publish(ctx, origin, time.Hour); err != nil {
		return nil, err
	}
	for _, m := range n.Mirrors {
		if m.Name != "us-stale" {
			if err := d.sync(ctx, n.Origin, m.Name); err != nil {
				return nil, err
			}
		}
	}
	if err := flipByte(filepath.Join(d.dir, "nl-tampered", "releases", "1.0", "pando-demo-1.0.iso"), 4096); err != nil {
		return nil, err
	}
	for i := range n.Mirrors {
		m := &n.Mirrors[i]
		if m.Agent {
			err = d.runAgent(ctx, n, m)
		} else {
			m.URL, err = d.serveTree(ctx, filepath.Join(d.dir, m.Name))
		}
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (d *demo) keys() error {
	skey, vkey, err := note.GenerateKey(rand.Reader, originName)
	if err != nil {
		return err
	}
	if d.signer, err = note.NewSigner(skey); err != nil {
		return err
	}
	if d.verifier, err = note.NewVerifier(vkey); err != nil {
		return err
	}
	if err := safefile.WriteFile(filepath.Join(d.dir, "origin.key"), []byte(skey+"\n"), 0o600); err != nil {
		return err
	}
	return safefile.WriteFile(filepath.Join(d.dir, "origin.pub"), []byte(vkey+"\n"), 0o644)
}

// publish signs the tree as if it happened ago.
func (d *demo) publish(ctx context.Context, root string, ago time.Duration) error {
	now := func() time.Time { return time.Now().Add(-ago) }
	_, err := publish.Publish(ctx, publish.Options{Root: root, Signer: d.signer, Verifier: d.verifier, Log: d.log, Now: now})
	return err
}

func (d *demo) sync(ctx context.Context, upstream, name string) error {
	_, err := mirror.Sync(ctx, mirror.Options{Root: filepath.Join(d.dir, name), Upstreams: []string{upstream},
		Verifier: d.verifier, Log: d.log})
	if err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	return nil
}

// serveTree serves root on a free loopback port until ctx ends.
func (d *demo) serveTree(ctx context.Context, root string) (string, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.Close()
		return "", err
	}
	go func() {
		defer r.Close()
		if err := serve.Serve(ctx, ln, serve.Handler(r, serve.Options{Logger: d.log}), serve.Config{Logger: d.log}); err != nil {
			d.errs <- err
		}
	}()
	return "http://" + ln.Addr().String() + "/", nil
}

// runHub writes hub.toml, runs the first pass, tells the user what to try,
// and serves the hub on ln until ctx ends and the mirror agents have sent
// their last reports.
func (d *demo) runHub(ctx context.Context, opts Options, n *Network, ln net.Listener) error {
	n.Config = filepath.Join(d.dir, "hub.toml")
	if err := os.WriteFile(n.Config, hubTOML(n), 0o644); err != nil {
		return err
	}
	cfg, err := config.Load(n.Config)
	if err != nil {
		return err
	}
	st, err := store.OpenSQLite(ctx, cfg.Store.Path)
	if err != nil {
		return err
	}
	defer st.Close()
	h, err := hub.New(cfg, st, hub.Options{Log: d.log})
	if err != nil {
		return err
	}
	if err := h.Pass(ctx); err != nil {
		return err
	}
	n.Report = h.LastReport()
	printNetwork(opts.Out, n)
	if opts.Ready != nil {
		opts.Ready(*n)
	}
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	go func() {
		<-ctx.Done()
		d.agents.Wait()
		stopHub()
	}()
	errc := make(chan error, 1)
	go func() { errc <- h.Run(hubCtx, ln) }()
	select {
	case err := <-d.errs:
		return err
	case err := <-errc:
		return err
	}
}

func listen(addr string) (net.Listener, error) {
	if addr != "" {
		return net.Listen("tcp", addr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		return net.Listen("tcp", "127.0.0.1:0")
	}
	return ln, nil
}

func hubTOML(n *Network) []byte {
	b := fmt.Appendf(nil, "# Written by pando demo.\n[origin]\nurl = %q\npubkey = %q\n\n[store]\npath = \"hub.db\"\n\n[check]\ninterval = \"30s\"\ntimeout = \"5s\"\n\n", n.Origin, n.PubKey)
	for _, m := range n.Mirrors {
		b = fmt.Appendf(b, "[[mirror]]\nname = %q\nhttp = %q\ncountry = %q\nweight = 100\nnotes = %q\n", m.Name, m.URL, m.Country, m.State)
		if m.token != "" {
			b = fmt.Appendf(b, "token = %q\n", m.token)
		}
		b = append(b, '\n')
	}
	return b
}

// sampleRepository writes a small repository of the given release: an ISO
// with its checksum, a Maven artifact with its .sha1, and some distfiles.
func sampleRepository(root, version string) error {
	rng := mathrand.New(mathrand.NewPCG(1, uint64(len(version))+uint64(version[len(version)-1])))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	iso := random(4 << 20)
	jar := random(64 << 10)
	sum := sha1.Sum(jar)
	files := map[string][]byte{
		"index.html": []byte("<!doctype html><title>pando demo repository</title><h1>pando demo repository</h1>\n"),
		"releases/" + version + "/pando-demo-" + version + ".iso":                iso,
		"maven/org/example/hello/" + version + "/hello-" + version + ".jar":      jar,
		"maven/org/example/hello/" + version + "/hello-" + version + ".jar.sha1": []byte(hex.EncodeToString(sum[:])),
		"maven/org/example/hello/" + version + "/hello-" + version + ".pom": []byte(fmt.Sprintf(`<project><modelVersion>4.0.0</modelVersion><groupId>org.example</groupId><artifactId>hello</artifactId><version>%s</version></project>
`, version)),
		"distfiles/hello-" + version + ".tar.gz": random(200 << 10),
	}
	isoSum := sha256Hex(iso)
	files["releases/"+version+"/pando-demo-"+version+".iso.sha256"] = []byte(isoSum + "  pando-demo-" + version + ".iso\n")
	for p, data := range files {
		name := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	// releases/latest points at the newest release, as on real download sites.
	latest := filepath.Join(root, "releases", "latest")
	if err := os.Remove(latest); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Symlink(version, latest)
}

func flipByte(name string, at int64) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		return err
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, at); err != nil {
		return err
	}
	return f.Close()
}

func printNetwork(w io.Writer, n *Network) {
	fmt.Fprintf(w, "pando demo: a mirror network on loopback (files in %s)\n\n", n.Dir)
	fmt.Fprintf(w, "  origin       %s  (signed by %s, key %s)\n", n.Origin, originName, n.PubKey)
	for _, m := range n.Mirrors {
		fmt.Fprintf(w, "  %-12s %s  %s  %s\n", m.Name, m.URL, m.Country, m.State)
	}
	fmt.Fprintf(w, "  hub          %s\n\n", n.Hub)
	fmt.Fprintf(w, "The mirrors run by the mirror agent (pando mirror run) re-sync every %v and report\n", agentSyncInterval)
	fmt.Fprintf(w, "the downloads they serve to the hub every %v.\n\n", agentReportInterval)
	if n.Report != nil {
		fmt.Fprintf(w, "The hub's first check pass found:\n")
		for _, m := range n.Report.Mirrors {
			state := "healthy"
			if !m.OK {
				state = fmt.Sprint(len(m.Problems), " problem(s): ")
				for i, p := range m.Problems {
					if i > 0 {
						state += "; "
					}
					state += p.String()
				}
			}
			fmt.Fprintf(w, "  %-12s %s\n", m.Name, state)
		}
		fmt.Fprintln(w)
	}
	iso := "releases/1.1/pando-demo-1.1.iso"
	fmt.Fprintf(w, "Open %s for the status page. Try:\n", n.Hub)
	fmt.Fprintf(w, "  curl -sI %s%s                 # 302 to a mirror that holds it\n", n.Hub, iso)
	fmt.Fprintf(w, "  curl -sI %sreleases/latest/pando-demo-1.1.iso             # through the origin's symlink\n", n.Hub)
	fmt.Fprintf(w, "  curl -s '%sreleases/1.0/pando-demo-1.0.iso?mirrorlist=json'   # never the tampered mirror\n", n.Hub)
	fmt.Fprintf(w, "  aria2c %sreleases/1.0/pando-demo-1.0.iso.meta4\n", n.Hub)
	fmt.Fprintf(w, "  pando get %s%s --pubkey %s -o /tmp/pando-demo.iso\n", n.Hub, iso, n.PubKey)
	fmt.Fprintf(w, "  pando check --config %s\n", n.Config)
	fmt.Fprintf(w, "  curl -s %sapi/v1/mirrors\n\n", n.Hub)
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
