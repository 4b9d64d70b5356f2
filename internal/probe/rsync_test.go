package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleTree is a mirror tree with the names that trip up parsers: spaces,
// a wildcard, a backslash, non-ASCII, nesting.
var sampleTree = map[string]string{
	"index.html":            "<h1>mirror</h1>\n",
	"pool/main/a file.deb":  "spaces in the name",
	"pool/main/star*name":   "a wildcard",
	"pool/main/starXname":   "not the wildcard",
	"pool/caf\u00e9.txt":    "non-ASCII",
	`pool/back\#123`:        "a backslash and a hash",
	"deep/a/b/c/d/e/f.txt":  "deep",
	".pando/checkpoint":     "signed note\n",
	"big/thousands.bin":     strings.Repeat("x", 12345),
	"sp ace/in dir/x y.txt": "",
}

// writeTree writes files under a new directory, plus a symbolic link and an
// empty directory, which listings must not report as objects.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("index.html", filepath.Join(dir, "link.html"))
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	return dir
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitListening waits until something accepts on addr.
func waitListening(t *testing.T, addr string, errb *bytes.Buffer) {
	t.Helper()
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server on %s did not start: %s", addr, errb)
}

// rsyncDaemon starts the system rsync as a daemon on loopback serving dir
// as module "repo", with a message of the day, and returns its address.
func rsyncDaemon(t *testing.T, dir string) string {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(t.TempDir(), "rsyncd.conf")
	motd := filepath.Join(t.TempDir(), "motd")
	os.WriteFile(motd, []byte("Welcome to the test mirror\n"), 0o644)
	os.WriteFile(conf, []byte(fmt.Sprintf("use chroot = no\nlog file = /dev/null\nmotd file = %s\n[repo]\npath = %s\nread only = yes\n", motd, dir)), 0o644)
	cmd := exec.Command("rsync", "--daemon", "--no-detach", "--config="+conf, "--address=127.0.0.1", "--port="+port)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rsync daemon (make test installs rsync): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, addr, &errb)
	return addr
}

// treeStats is what a listing of files should report.
func treeStats(files map[string]string) []string {
	var out []string
	for name, data := range files {
		out = append(out, fmt.Sprintf("%s %d", name, len(data)))
	}
	slices.Sort(out)
	return out
}

func statStrings(list []Stat) []string {
	var out []string
	for _, st := range list {
		out = append(out, fmt.Sprintf("%s %d", st.Path, st.Size))
	}
	slices.Sort(out)
	return out
}

// TestRsync: one listing reports every regular file with its size, spaces
// and all; Stat answers from it; Get and Open copy single files.
func TestRsync(t *testing.T) {
	addr := rsyncDaemon(t, writeTree(t, sampleTree))
	p := mustNew(t, "rsync", "rsync://"+addr+"/repo/", testConfig())
	list, err := p.(Lister).List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := statStrings(list), treeStats(sampleTree); !slices.Equal(got, want) {
		t.Errorf("listing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	got, err := statAll(t, t.Context(), p, []string{"pool/main/a file.deb", "missing.deb", "link.html"})
	if err != nil {
		t.Fatal(err)
	}
	if st := got["pool/main/a file.deb"]; st.Err != nil || st.Size != 18 {
		t.Errorf("a file.deb: %+v", st)
	}
	for _, path := range []string{"missing.deb", "link.html"} {
		if st := got[path]; !errors.Is(st.Err, ErrNotFound) {
			t.Errorf("%s: %+v, want ErrNotFound", path, st)
		}
	}

	for _, name := range []string{"pool/main/star*name", "pool/main/a file.deb", "pool/caf\u00e9.txt", "sp ace/in dir/x y.txt"} {
		data, err := p.Get(t.Context(), name, 100)
		if err != nil || string(data) != sampleTree[name] {
			t.Errorf("Get %s: %q, %v", name, data, err)
		}
	}
	if _, err := p.Get(t.Context(), "big/thousands.bin", 100); !errors.Is(err, ErrProtocol) {
		t.Errorf("Get over the limit: %v, want ErrProtocol", err)
	}
	if _, err := p.Get(t.Context(), "missing.deb", 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	if _, err := p.Get(t.Context(), "pool", 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get a directory: %v, want ErrNotFound", err)
	}
	body, err := p.Open(t.Context(), "big/thousands.bin")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	tmp := body.(*tempFile).dir
	body.Close()
	if len(data) != 12345 {
		t.Errorf("Open read %d bytes, want 12345", len(data))
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary copy %s left behind: %v", tmp, err)
	}
}

// TestRsyncFailures: a missing module, a missing directory and a closed
// port are classified.
func TestRsyncFailures(t *testing.T) {
	addr := rsyncDaemon(t, writeTree(t, map[string]string{"a": "a"}))
	for _, c := range []struct {
		url   string
		class error
		want  string
	}{
		{"rsync://" + addr + "/nomodule/", ErrUnreachable, "Unknown module 'nomodule'"},
		{"rsync://" + addr + "/repo/nodir/", ErrNotFound, "No such file or directory"},
		{"rsync://" + freeAddr(t) + "/repo/", ErrUnreachable, "Connection refused"},
	} {
		p := mustNew(t, "rsync", c.url, testConfig())
		_, err := p.(Lister).List(t.Context())
		if !errors.Is(err, c.class) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.url) {
			t.Errorf("List %s: %v; want %v mentioning %q", c.url, err, c.class, c.want)
		}
		n := 0
		err = p.Stat(t.Context(), []string{"a", "b"}, func(st Stat) {
			n++
			if !errors.Is(st.Err, c.class) {
				t.Errorf("Stat %s: %+v", st.Path, st)
			}
		})
		if !errors.Is(err, c.class) || n != 2 {
			t.Errorf("Stat %s: %v after %d paths", c.url, err, n)
		}
	}
}

// TestRsyncTimeout: a daemon that accepts and says nothing costs a
// timeout, by rsync's own --timeout or by the caller's deadline.
func TestRsyncTimeout(t *testing.T) {
	ln := listen(t)
	serveConns(t, ln, func(c net.Conn) { io.Copy(io.Discard, c) })
	cfg := testConfig()
	cfg.ConnectTimeout, cfg.IdleTimeout = time.Second, time.Second
	p := mustNew(t, "rsync", "rsync://"+ln.Addr().String()+"/repo/", cfg)
	start := time.Now()
	_, err := p.(Lister).List(t.Context())
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("List: %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	cfg.ConnectTimeout, cfg.IdleTimeout = time.Minute, time.Minute
	p = mustNew(t, "rsync", "rsync://"+ln.Addr().String()+"/repo/", cfg)
	if _, err := p.Get(ctx, "a", 10); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get: %v, want the context's deadline", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
}

// TestRsyncBadListing: output that is not a listing is refused, naming the
// line, and the rsync run is stopped.
func TestRsyncBadListing(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\necho 'drwxr-xr-x          4,096 2024/01/02 03:04:05 .'\necho 'You are being watched'\nexec sleep 60\n"
	if err := os.WriteFile(filepath.Join(bin, "rsync"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	p := mustNew(t, "rsync", "rsync://127.0.0.1:1/repo/", testConfig())
	start := time.Now()
	_, err := p.(Lister).List(t.Context())
	want := `rsync rsync://127.0.0.1:1/repo/: listing line 2: protocol: not an rsync listing line: "You are being watched"`
	if err == nil || err.Error() != want {
		t.Errorf("List: %v, want %q", err, want)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v: rsync was not stopped", took)
	}
}
