package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/geo/geotest"
	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/internal/serve"
)

// rdMirror serves a copy of files (path -> contents) with internal/serve's
// handler on 127.0.0.1:0 and returns its URL prefix.
func rdMirror(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	srv := httptest.NewServer(serve.Handler(root, serve.Options{}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// rdWorld returns an origin publishing files with the given mirrors (name
// -> URL prefix), each verified to hold every file over http.
func rdWorld(t *testing.T, files map[string][]byte, mirrors map[string]string, weights map[string]int) *availtest.World {
	t.Helper()
	w, err := availtest.New("repo.example.org", files)
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range mirrors {
		w.AddMirror(config.Mirror{Name: name, HTTP: u, Weight: weights[name]})
		w.Hold(name, config.AccessHTTP)
	}
	return w
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestRedirectCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed (scripts/install-deps.sh)")
	}
	files := map[string][]byte{"pool/main/a b.deb": randomBytes(300 << 10), "small.txt": []byte("hello\n")}
	w := rdWorld(t, files, map[string]string{"m": rdMirror(t, files)}, map[string]int{"m": 100})
	hub := httptest.NewServer(redirect.Handler(func() *availability.Map { return w.Map() }, nil, redirect.Options{Candidates: 5}))
	defer hub.Close()
	for p, want := range files {
		out := filepath.Join(t.TempDir(), "out")
		cmd := exec.CommandContext(t.Context(), "curl", "-sSfL", "--max-time", "30", "-o", out, hub.URL+"/"+strings.ReplaceAll(p, " ", "%20"))
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("curl %s: %v\n%s", p, err, msg)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Errorf("curl %s: got %d bytes, not the published file", p, len(got))
		}
	}
}

// aria2 runs aria2c on u in dir and returns its exit status and output.
func aria2(t *testing.T, dir, u string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "aria2c", "--dir", dir, "--allow-overwrite=true", "--auto-file-renaming=false",
		"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn", "--max-tries=2",
		"--retry-wait=0", "--timeout=10", "--connect-timeout=5", "--split=4", "--min-split-size=1M",
		"--max-connection-per-server=2", "--check-certificate=false", u)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("aria2c: %v", err)
	}
	return 0, string(out)
}

func TestRedirectAria2Metalink(t *testing.T) {
	if _, err := exec.LookPath("aria2c"); err != nil {
		t.Skip("aria2c not installed (scripts/install-deps.sh)")
	}
	iso := randomBytes(6 << 20)
	files := map[string][]byte{"pool/a.iso": iso}
	tampered := bytes.Clone(iso)
	for i := 1 << 20; i < len(tampered); i += 4096 {
		tampered[i] ^= 0xff // same size, other bytes from the second MiB on
	}
	good1, good2 := rdMirror(t, files), rdMirror(t, files)
	bad := rdMirror(t, map[string][]byte{"pool/a.iso": tampered})

	t.Run("good mirrors", func(t *testing.T) {
		w := rdWorld(t, files, map[string]string{"good1": good1, "good2": good2}, map[string]int{"good1": 100, "good2": 100})
		hub := httptest.NewServer(redirect.Handler(func() *availability.Map { return w.Map() }, nil, redirect.Options{}))
		defer hub.Close()
		dir := t.TempDir()
		code, out := aria2(t, dir, hub.URL+"/pool/a.iso.meta4")
		got, _ := os.ReadFile(filepath.Join(dir, "a.iso"))
		if code != 0 || !bytes.Equal(got, iso) {
			t.Fatalf("aria2c exit %d, %d bytes (want %d, the published file)\n%s", code, len(got), len(iso), out)
		}
	})
	t.Run("one mirror serves wrong bytes", func(t *testing.T) {
		// The checker has not caught the tampering yet: the map still says
		// the bad mirror holds the file. The Metalink's whole-file SHA-256
		// must keep the wrong bytes from passing as the file.
		w := rdWorld(t, files, map[string]string{"good1": good1, "bad": bad}, map[string]int{"good1": 1, "bad": 1000})
		hub := httptest.NewServer(redirect.Handler(func() *availability.Map { return w.Map() }, nil, redirect.Options{}))
		defer hub.Close()
		dir := t.TempDir()
		code, out := aria2(t, dir, hub.URL+"/pool/a.iso.meta4")
		got, _ := os.ReadFile(filepath.Join(dir, "a.iso"))
		switch {
		case code == 0 && bytes.Equal(got, iso):
			t.Logf("aria2c ended with the right file (exit 0)")
		case code != 0 && !bytes.Equal(got, iso):
			t.Logf("aria2c failed loudly (exit %d):\n%s", code, grepLines(out, "ERR", "hecksum"))
			if !strings.Contains(strings.ToLower(out), "checksum") {
				t.Errorf("aria2c failed, but not on the checksum:\n%s", out)
			}
		default:
			sum := sha256.Sum256(got)
			t.Fatalf("aria2c exit %d with a file of %d bytes, SHA-256 %x: wrong bytes accepted\n%s", code, len(got), sum, out)
		}
	})
}

// grepLines returns the lines of s that contain any of words.
func grepLines(s string, words ...string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// edgeKeys makes a hub key pair with "pando keygen" and returns the signer
// and the public key file.
func edgeKeys(t *testing.T, dir, name string) (note.Signer, string) {
	t.Helper()
	key, pub := keys(t, dir, name)
	s, _, err := checkpoint.LoadSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

// edgeMap returns w's map created at unix second created, signed by s.
func edgeMap(t *testing.T, w *availtest.World, created int64, s note.Signer) []byte {
	t.Helper()
	m := availability.Compile(w.Log, w.Mirrors, w.Latest, w.Objects, time.Unix(created, 0)).WithFallback("https://origin.example/pub/")
	data, err := availability.Encode(m, s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeEdgeMap replaces the map file atomically with w's map.
func writeEdgeMap(t *testing.T, name string, w *availtest.World, created int64, s note.Signer) {
	t.Helper()
	replaceFile(t, name, edgeMap(t, w, created, s), time.Unix(created, 0))
}

// replaceFile writes data to name through a rename, with modification time mt.
func replaceFile(t *testing.T, name string, data []byte, mt time.Time) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mt, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// edgeLocation returns where the edge redirects path for a client at xff.
func edgeLocation(t *testing.T, base, path, xff string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("X-Forwarded-For", xff)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Location")
}

func TestRedirectEdge(t *testing.T) {
	dir := t.TempDir()
	hubSigner, hubPub := edgeKeys(t, dir, "hub.example.org")
	evilSigner, _ := edgeKeys(t, dir, "evil.example.org")
	geoDB, err := geotest.WriteDefault(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := availtest.New("repo.example.org", map[string][]byte{"pool/a.iso": []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	w.AddMirror(config.Mirror{Name: "de", HTTP: "http://de.example/", Country: "DE", Weight: 100})
	w.AddMirror(config.Mirror{Name: "us", HTTP: "http://us.example/", Country: "US", Weight: 100})
	w.Hold("de", config.AccessHTTP)
	w.Hold("us", config.AccessHTTP)
	mapFile := filepath.Join(dir, "availability.map")
	writeEdgeMap(t, mapFile, w, 1700000000, hubSigner)

	addr := freeAddr(t)
	var stderr buftest.Buffer
	cmd := exec.Command(pandoBin, "redirect", "--map", mapFile, "--pubkey", hubPub, "--listen", addr,
		"--geoip", geoDB, "--trusted-proxy", "127.0.0.1", "--reload", "20ms")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	waitFor(t, "the edge to listen", func() bool { return strings.Contains(stderr.String(), "redirector ready") }, &stderr)
	if !strings.Contains(stderr.String(), "startup=") || !strings.Contains(stderr.String(), "geoip=pando-test-City") {
		t.Errorf("ready line lacks the startup time or the database:\n%s", stderr.String())
	}
	if got := edgeLocation(t, base, "/pool/a.iso", "127.0.1.1"); got != "http://de.example/pool/a.iso" {
		t.Fatalf("DE client: Location %q", got)
	}
	if got := edgeLocation(t, base, "/pool/a.iso", "127.0.3.1"); got != "http://us.example/pool/a.iso" {
		t.Fatalf("US client: Location %q", got)
	}

	// The de mirror is dropped, but the new map is signed by another key,
	// then one signed by the hub has a damaged body: both are refused, and
	// the old map keeps serving.
	w.Mirrors = w.Mirrors[1:]
	writeEdgeMap(t, mapFile, w, 1700000100, evilSigner)
	waitFor(t, "the forged map to be refused", func() bool { return strings.Contains(stderr.String(), "note has no verifiable signatures") }, &stderr)
	damaged := edgeMap(t, w, 1700000150, hubSigner)
	damaged[len(damaged)-1] ^= 1
	replaceFile(t, mapFile, damaged, time.Unix(1700000150, 0))
	waitFor(t, "the corrupt map to be refused", func() bool { return strings.Contains(stderr.String(), "body does not match") }, &stderr)
	if got := edgeLocation(t, base, "/pool/a.iso", "127.0.1.1"); got != "http://de.example/pool/a.iso" {
		t.Fatalf("after refused maps, DE client: Location %q, want the old map's de mirror", got)
	}

	// A good new map is picked up.
	writeEdgeMap(t, mapFile, w, 1700000200, hubSigner)
	waitFor(t, "the new map", func() bool {
		return edgeLocation(t, base, "/pool/a.iso", "127.0.1.1") == "http://us.example/pool/a.iso"
	}, &stderr)

	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("edge exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("edge did not stop\n%s", stderr.String())
	}
}

func waitFor(t *testing.T, what string, cond func() bool, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedirectEdgeRefusesBadFirstMap(t *testing.T) {
	dir := t.TempDir()
	_, hubPub := edgeKeys(t, dir, "hub.example.org")
	evil, _ := edgeKeys(t, dir, "evil.example.org")
	w, err := availtest.New("repo.example.org", map[string][]byte{"f": []byte("f")})
	if err != nil {
		t.Fatal(err)
	}
	mapFile := filepath.Join(dir, "map")
	writeEdgeMap(t, mapFile, w, 1700000000, evil)
	r := pando(t, "redirect", "--map", mapFile, "--pubkey", hubPub, "--listen", freeAddr(t))
	if r.code != 1 || !strings.Contains(r.stderr, "availability map: "+mapFile+": availability map: note has no verifiable signatures") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--pubkey", hubPub}, "need --map FILE or URL"},
		{[]string{"--map", mapFile}, "need --pubkey"},
		{[]string{"--map", mapFile, "--pubkey", hubPub, "--trusted-proxy", "10.0.0.1/8"}, `--trusted-proxy "10.0.0.1/8": address bits beyond the prefix length; want "10.0.0.0/8"`},
		{[]string{"--map", mapFile, "--pubkey", hubPub, "--fallback", "ftp://x/"}, `--fallback "ftp://x/": scheme must be http or https`},
		{[]string{"--map", mapFile, "--pubkey", hubPub, "--candidates", "99"}, "--candidates 99: must be between 0 and 64"},
	} {
		r := pando(t, append([]string{"redirect"}, tt.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("pando redirect %v: exit %d\n%s\nwant %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}
