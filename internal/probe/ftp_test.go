package probe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// ftpPython is the Python that has Debian's python3-pyftpdlib: the system
// one, which a python3 earlier on PATH may hide.
func ftpPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import pyftpdlib").Run() == nil {
			return py
		}
	}
	t.Fatal("no python3 with pyftpdlib (make test installs python3-pyftpdlib)")
	return ""
}

// ftpServer starts pyftpdlib on loopback serving dir read-only, to
// anonymous users, or only to user with password when user is set. It
// returns the server's address.
func ftpServer(t *testing.T, dir, user, password string) string {
	t.Helper()
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"-m", "pyftpdlib", "-i", host, "-p", port, "-d", dir}
	if user != "" {
		args = append(args, "-u", user, "-P", password)
	}
	cmd := exec.Command(ftpPython(t), args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting pyftpdlib (make test installs python3-pyftpdlib): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, addr, &errb)
	return addr
}

// TestFTP: a walk with MLSD and one with LIST both report every regular
// file with its size; Stat answers from the walk; Get and Open use RETR.
func TestFTP(t *testing.T) {
	files := map[string]string{}
	for name, data := range sampleTree {
		if !strings.Contains(name, `\`) { // LIST output cannot carry every name
			files[name] = data
		}
	}
	addr := ftpServer(t, writeTree(t, files), "", "")
	p := mustNew(t, "ftp", "ftp://"+addr+"/", testConfig())
	want := treeStats(files)
	list, err := p.(Lister).List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// pyftpdlib's MLSD presents a link to a file as a file, as RETR serves
	// it; its LIST shows the link.
	withLink := append(slices.Clone(want), "link.html 16")
	slices.Sort(withLink)
	if got := statStrings(list); !slices.Equal(got, withLink) {
		t.Errorf("MLSD listing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(withLink, "\n"))
	}
	list, err = p.(*ftpProber).list(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := statStrings(list); !slices.Equal(got, want) {
		t.Errorf("LIST listing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	got, err := statAll(t, t.Context(), p, []string{"pool/main/a file.deb", "missing", "link.html"})
	if err != nil {
		t.Fatal(err)
	}
	if st := got["pool/main/a file.deb"]; st.Err != nil || st.Size != 18 {
		t.Errorf("a file.deb: %+v", st)
	}
	if st := got["missing"]; !errors.Is(st.Err, ErrNotFound) {
		t.Errorf("missing: %+v", st)
	}

	for _, name := range []string{"pool/main/star*name", "sp ace/in dir/x y.txt", ".pando/checkpoint"} {
		if data, err := p.Get(t.Context(), name, 100); err != nil || string(data) != files[name] {
			t.Errorf("Get %s: %q, %v", name, data, err)
		}
	}
	if _, err := p.Get(t.Context(), "big/thousands.bin", 100); !errors.Is(err, ErrProtocol) {
		t.Errorf("Get over the limit: %v, want ErrProtocol", err)
	}
	if _, err := p.Get(t.Context(), "missing", 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	body, err := p.Open(t.Context(), "big/thousands.bin")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(body)
	if err != nil || len(data) != 12345 {
		t.Errorf("Open: %d bytes, %v", len(data), err)
	}
	if err := body.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestFTPSubdirAndLogin: the base may be a subdirectory, and a URL with a
// user logs in as that user.
func TestFTPSubdirAndLogin(t *testing.T) {
	dir := writeTree(t, map[string]string{"pub/debian/a": "aa", "pub/other": "o"})
	addr := ftpServer(t, dir, "mirror", "s3cret")
	p := mustNew(t, "ftp", "ftp://mirror:s3cret@"+addr+"/pub/debian/", testConfig())
	list, err := p.(Lister).List(t.Context())
	if err != nil || len(list) != 1 || list[0] != (Stat{Path: "a", Size: 2}) {
		t.Errorf("List: %+v, %v", list, err)
	}
	cfg := testConfig()
	cfg.HeaderTimeout = 10 * time.Second // pyftpdlib answers a refused login after 3s
	p = mustNew(t, "ftp", "ftp://"+addr+"/pub/debian/", cfg)
	_, err = p.(Lister).List(t.Context())
	if !errors.Is(err, ErrUnreachable) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("anonymous List: %v, want ErrUnreachable", err)
	}
	p = mustNew(t, "ftp", "ftp://mirror:s3cret@"+addr+"/nodir/", testConfig())
	_, err = p.(Lister).List(t.Context())
	if !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("List of a missing directory: %v, want ErrNotFound without the password", err)
	}
}

// TestFTPFailures: a closed port is unreachable, a silent server a timeout.
func TestFTPFailures(t *testing.T) {
	p := mustNew(t, "ftp", "ftp://"+freeAddr(t)+"/", testConfig())
	if _, err := p.(Lister).List(t.Context()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("List on a closed port: %v, want ErrUnreachable", err)
	}
	ln := listen(t)
	serveConns(t, ln, func(c net.Conn) { io.Copy(io.Discard, c) })
	cfg := testConfig()
	cfg.HeaderTimeout = 300 * time.Millisecond
	p = mustNew(t, "ftp", "ftp://"+ln.Addr().String()+"/", cfg)
	err := p.Stat(t.Context(), []string{"a"}, func(st Stat) {
		if !errors.Is(st.Err, ErrTimeout) {
			t.Errorf("Stat %s: %+v", st.Path, st)
		}
	})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("Stat on a silent server: %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Open(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v", err)
	}
}
