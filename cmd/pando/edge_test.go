package main

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/certtest"
	"github.com/pando-mirror/pando/internal/config"
)

// edgeWorld writes a signed map of one file held by one mirror into dir
// and returns its file and the hub's public key.
func edgeWorld(t *testing.T, dir string) (mapFile, pub string) {
	t.Helper()
	signer, pub := edgeKeys(t, dir, "hub.example.org")
	w, err := availtest.New("repo.example.org", map[string][]byte{"pool/a.iso": []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	w.AddMirror(config.Mirror{Name: "de", HTTP: "http://de.example/", HTTPS: "https://de.example/", Country: "DE", Weight: 100})
	w.Hold("de", config.AccessHTTP)
	w.Hold("de", config.AccessHTTPS)
	mapFile = filepath.Join(dir, "availability.map")
	writeEdgeMap(t, mapFile, w, 1700000000, signer)
	return mapFile, pub
}

// TestRedirectEdgeAccessLog checks that the cleartext edge logs every
// request in the combined format, those its server answers itself and
// those it hands to the redirector's net/http handler, and reopens the log
// on SIGHUP.
func TestRedirectEdgeAccessLog(t *testing.T) {
	dir := t.TempDir()
	mapFile, pub := edgeWorld(t, dir)
	logName := filepath.Join(dir, "access.log")
	addr := freeAddr(t)
	stderr := &buftest.Buffer{}
	cmd := exec.Command(pandoBin, "redirect", "--map", mapFile, "--pubkey", pub, "--listen", addr,
		"--reload", "0", "--access-log", logName)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	waitFor(t, "the edge to listen", func() bool { return strings.Contains(stderr.String(), "redirector ready") }, stderr)

	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, u := range []string{"/pool/a.iso", "/pool/a.iso?mirrorlist=json"} {
		req, _ := http.NewRequest("GET", base+u, nil)
		req.Header.Set("User-Agent", `curl/8 "quoted"`)
		req.Header.Set("Referer", "http://example.org/")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	line := func(uri, status string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET ` +
			regexp.QuoteMeta(uri) + ` HTTP/1\.1" ` + status + ` \d+ "http://example\.org/" "curl/8 \\x22quoted\\x22"$`)
	}
	waitFor(t, "both requests logged", func() bool {
		b, _ := os.ReadFile(logName)
		return line("/pool/a.iso", "302").Match(b) && line("/pool/a.iso?mirrorlist=json", "200").Match(b)
	}, stderr)

	if err := os.Rename(logName, logName+".1"); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "a line in the reopened log", func() bool {
		edgeLocation(t, base, "/pool/a.iso", "127.0.0.1")
		b, _ := os.ReadFile(logName)
		return bytes.Contains(b, []byte(`"GET /pool/a.iso HTTP/1.1" 302 0 "-" "Go-http-client/1.1"`))
	}, stderr)
}

// TestRedirectEdgeTLS checks that an edge with a certificate answers over
// HTTPS with HTTP/2, and sends HTTPS requests to the mirror's HTTPS access
// point.
func TestRedirectEdgeTLS(t *testing.T) {
	dir := t.TempDir()
	mapFile, pub := edgeWorld(t, dir)
	cert, key, pool := certtest.SelfSigned(t, t.TempDir())
	addr := freeAddr(t)
	stderr := &buftest.Buffer{}
	cmd := exec.Command(pandoBin, "redirect", "--map", mapFile, "--pubkey", pub, "--listen", addr,
		"--reload", "0", "--tls-cert", cert, "--tls-key", key)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c := &http.Client{
		Timeout:       5 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var resp *http.Response
	waitFor(t, "the edge over TLS", func() bool {
		var err error
		resp, err = c.Get("https://" + addr + "/pool/a.iso")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}, stderr)
	if resp.StatusCode != http.StatusFound || resp.ProtoMajor != 2 || resp.Header.Get("Location") != "https://de.example/pool/a.iso" {
		t.Errorf("HTTPS GET: %s over %s, Location %q; want 302 over HTTP/2 to the https access point",
			resp.Status, resp.Proto, resp.Header.Get("Location"))
	}
}
