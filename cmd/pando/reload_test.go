package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/certtest"
)

// TestServeHangup: SIGHUP makes a running pando serve take a renewed
// certificate and reopen its access log after logrotate moved it, keeps
// the old certificate when the new files do not load, and serving goes on
// throughout.
func TestServeHangup(t *testing.T) {
	dir := t.TempDir()
	root := serveTestTree(t)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	c1, k1, pool1 := certtest.SelfSigned(t, t.TempDir())
	c2, k2, pool2 := certtest.SelfSigned(t, t.TempDir())
	install := func(c, k string) {
		t.Helper()
		for src, dst := range map[string]string{c: cert, k: key} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(c1, k1)
	logName := filepath.Join(dir, "access.log")
	addr := freeAddr(t)
	cmd := exec.Command(pandoBin, "serve", "--root", root, "--listen", addr,
		"--tls-cert", cert, "--tls-key", key, "--access-log", logName)
	errb := &buftest.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "https://" + addr + "/pool/lib-1.0.jar"
	waitFor(t, "pando serve over TLS", func() bool { return tlsGet(url, pool1) == nil }, errb)

	// A renewed certificate and a rotated log.
	install(c2, k2)
	if err := os.Rename(logName, logName+".1"); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the renewed certificate", func() bool { return tlsGet(url, pool2) == nil }, errb)
	waitFor(t, "a line in the reopened log", func() bool {
		b, _ := os.ReadFile(logName)
		return bytes.Contains(b, []byte("GET /pool/lib-1.0.jar"))
	}, errb)
	if err := tlsGet(url, pool1); err == nil {
		t.Error("the old certificate is still served after SIGHUP")
	}

	// Files that do not load keep the certificate in use.
	if err := os.WriteFile(cert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the failed reload logged", func() bool {
		return strings.Contains(errb.String(), "could not reload the TLS certificate and key")
	}, errb)
	if err := tlsGet(url, pool2); err != nil {
		t.Errorf("after a failed reload: %v", err)
	}
}

// tlsGet fetches url trusting only pool, and wants 200.
func tlsGet(url string, pool *x509.CertPool) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &httpStatusError{resp.Status}
	}
	return nil
}

type httpStatusError struct{ status string }

func (e *httpStatusError) Error() string { return "status " + e.status }
