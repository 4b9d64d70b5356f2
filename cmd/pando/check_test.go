package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/pando-mirror/pando/internal/certtest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkReport is the part of "pando check --json" the tests read.
type checkReport struct {
	Mirrors []struct {
		Name       string  `json:"name"`
		OK         bool    `json:"ok"`
		Records    *int64  `json:"records"`
		LagSeconds *int64  `json:"lag_seconds"`
		Complete   float64 `json:"complete"`
		Problems   []struct {
			Kind, Access, Path, Expected, Got string
			Warning                           bool
		} `json:"problems"`
	} `json:"mirrors"`
}

// TestCheckNamesEveryBrokenMirror builds an origin and mirrors with the real
// sync, breaks them on purpose, and expects pando check to name each problem
// on the right mirror and path while passing the good ones.
func TestCheckNamesEveryBrokenMirror(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	mirror := func(name string) string {
		root := filepath.Join(n.dir, name)
		if r := n.sync(t, n.url, root); r.code != 0 {
			t.Fatalf("sync %s: %s", name, r.stderr)
		}
		return root
	}
	good := mirror("good")
	tampered := mirror("tampered")
	data := readFile(t, tampered, "pool/b/beta_2.0.tar.gz")
	data[100] ^= 0xff // same size, other bytes
	os.WriteFile(filepath.Join(tampered, "pool/b/beta_2.0.tar.gz"), data, 0o644)
	holes := mirror("holes")
	os.Remove(filepath.Join(holes, "index.html"))
	writeFiles(t, holes, map[string]string{"pool/unexpected.bin": "not in the log"})
	stale := mirror("stale")
	rolled := mirror("rolled")
	oldCheckpoint := readFile(t, rolled, ".pando/checkpoint")
	tlsRoot := mirror("tls")
	rsyncOnly := mirror("rsync-only")
	ftpOnly := mirror("ftp-only")

	// The origin moves on; everyone but "stale" follows.
	writeFiles(t, n.origin, map[string]string{"pool/c/gamma_3.0.tar.gz": "gamma"})
	n.publish(t)
	for _, m := range []string{good, tampered, holes, rolled, tlsRoot, rsyncOnly, ftpOnly} {
		if r := n.sync(t, n.url, m); r.code != 0 {
			t.Fatalf("re-sync %s: %s", m, r.stderr)
		}
	}
	time.Sleep(1100 * time.Millisecond) // the stale mirror is now more than 1 s behind

	ca := certtest.NewCA(t, n.dir)
	cert, key := ca.Leaf(t, n.dir, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)) // expired
	tlsAddr := freeAddr(t)
	startServeArgs(t, tlsAddr, "--root", tlsRoot, "--tls-cert", cert, "--tls-key", key)

	hang := hangingServer(t)
	mirrors := []string{
		mirrorTOML("good", "http", startServe(t, good)),
		mirrorTOML("tampered", "http", startServe(t, tampered)),
		mirrorTOML("holes", "http", startServe(t, holes)) + fmt.Sprintf("rsync = %q\n", rsyncDaemon(t, holes)),
		mirrorTOML("stale", "http", startServe(t, stale)),
		mirrorTOML("rolled", "http", startServe(t, rolled)),
		mirrorTOML("hangs", "http", hang),
		mirrorTOML("tls", "https", "https://"+tlsAddr+"/"),
		mirrorTOML("rsync-only", "rsync", rsyncDaemon(t, rsyncOnly)),
		mirrorTOML("ftp-only", "ftp", ftpServer(t, ftpOnly)),
	}
	cfg := filepath.Join(n.dir, "hub.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[origin]
url = %q
pubkey = %q

[store]
path = "hub.db"

[check]
interval = "1s"
timeout = "2s"
hash_budget = "1GB"

`, n.url, n.pub)+strings.Join(mirrors, "\n")), 0o644)
	env := []string{"SSL_CERT_FILE=" + ca.File}

	r := pandoEnv(t, env, "check", "--config", cfg, "--json")
	if r.code != 1 {
		t.Fatalf("pando check: exit %d, want 1 (problems found)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := parseCheck(t, r.stdout)
	want := map[string][]string{
		"good":       nil,
		"tampered":   {"hash http pool/b/beta_2.0.tar.gz"},
		"holes":      {"missing http index.html", "missing rsync index.html", "extra rsync pool/unexpected.bin"},
		"stale":      {"stale http"},
		"rolled":     nil,
		"hangs":      {"timeout http .pando/checkpoint"},
		"tls":        {"tls https"},
		"rsync-only": nil,
		"ftp-only":   nil,
	}
	for _, m := range rep.Mirrors {
		var got []string
		for _, p := range m.Problems {
			got = append(got, strings.TrimSpace(p.Kind+" "+p.Access+" "+p.Path))
		}
		if strings.Join(got, "; ") != strings.Join(want[m.Name], "; ") {
			t.Errorf("%s: problems %q, want %q", m.Name, got, want[m.Name])
		}
		if m.OK != (len(want[m.Name]) == 0) {
			t.Errorf("%s: ok = %v", m.Name, m.OK)
		}
		if m.Name == "tampered" && len(m.Problems) == 1 {
			if p := m.Problems[0]; p.Expected == p.Got || len(p.Expected) != 64 || len(p.Got) != 64 {
				t.Errorf("tampering report lacks both digests: %+v", p)
			}
		}
		if m.Name == "stale" && (m.LagSeconds == nil || *m.LagSeconds < 1) {
			t.Errorf("stale mirror lag %v, want at least 1 s", m.LagSeconds)
		}
	}
	if len(rep.Mirrors) != len(want) {
		t.Errorf("%d mirrors reported, want %d", len(rep.Mirrors), len(want))
	}

	// The readable table names the same mirrors and problems.
	r = pandoEnv(t, env, "check", "--config", cfg, "--mirror", "tampered")
	if r.code != 1 || !strings.Contains(r.stdout, "tampered") || !strings.Contains(r.stdout, "hash [http] pool/b/beta_2.0.tar.gz") {
		t.Errorf("table output:\n%s\n%s", r.stdout, r.stderr)
	}

	// The rolled mirror serves its old checkpoint again: a rollback against
	// what the previous pass saw.
	os.WriteFile(filepath.Join(rolled, ".pando", "checkpoint"), oldCheckpoint, 0o644)
	r = pandoEnv(t, env, "check", "--config", cfg, "--mirror", "rolled", "--mirror", "good", "--json")
	rep = parseCheck(t, r.stdout)
	if r.code != 1 || len(rep.Mirrors) != 2 || len(rep.Mirrors[0].Problems) != 1 || rep.Mirrors[0].Problems[0].Kind != "rollback" || !rep.Mirrors[1].OK {
		t.Errorf("rollback pass: exit %d, report %s", r.code, r.stdout)
	}
}

func parseCheck(t *testing.T, out string) checkReport {
	t.Helper()
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json output %q: %v", out, err)
	}
	return rep
}

func mirrorTOML(name, kind, url string) string {
	return fmt.Sprintf("[[mirror]]\nname = %q\n%s = %q\n", name, kind, url)
}

// startServeArgs starts "pando serve" with args on addr and waits until it
// accepts connections.
func startServeArgs(t *testing.T, addr string, args ...string) {
	t.Helper()
	cmd := exec.Command(pandoBin, append([]string{"serve", "--listen", addr}, args...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pando serve %v did not start: %s", args, errb.String())
}

// hangingServer accepts connections, answers every request's headers and
// then never sends the body it announced.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Read(buf); err != nil {
					return
				}
				fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
				select {
				case <-done:
				case <-time.After(60 * time.Second):
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// ftpServer serves dir read-only over anonymous FTP with Debian's
// python3-pyftpdlib (installed by make test) and returns its URL.
func ftpServer(t *testing.T, dir string) string {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	// Debian's own interpreter: a python3 earlier on PATH may not see Debian's modules.
	cmd := exec.Command("/usr/bin/python3", "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", port, "-d", dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting FTP server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "ftp://" + addr + "/"
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("FTP server did not start (make test installs python3-pyftpdlib): %s", errb.String())
	return ""
}
