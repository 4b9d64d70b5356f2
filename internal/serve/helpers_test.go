package serve

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Markers that must never appear in a response.
const (
	outsideSecret = "TOP-SECRET outside the tree"
	localSecret   = "LOCAL-SECRET under .pando/local"
)

// A tree is a published tree laid out for the tests, next to a directory
// outside it that holds a secret.
type tree struct {
	dir     string // the served root
	outside string // a sibling directory that must never be served
	data    []byte // contents of data.bin
	jar     []byte // contents of "pool/a b.jar"
}

// newTree builds a tree with files, the signed log's served files, local
// state, and symlinks both inside and leading out.
func newTree(t *testing.T) *tree {
	t.Helper()
	base := t.TempDir()
	tr := &tree{dir: filepath.Join(base, "tree"), outside: filepath.Join(base, "outside")}
	tr.data = make([]byte, 10000)
	for i := range tr.data {
		tr.data[i] = byte(i * 7)
	}
	tr.jar = bytes.Repeat([]byte("PK\x03\x04jar"), 100)
	files := map[string][]byte{
		"hello.txt":               []byte("hello, world\n"),
		"data.bin":                tr.data,
		"pool/a b.jar":            tr.jar,
		"pool/lib-1.0.pom":        []byte("<project/>\n"),
		"pool/zeta/z.txt":         []byte("z\n"),
		"iso/tails.iso":           []byte("ISO"),
		`<b>&"x'.txt`:             []byte("odd name\n"),
		"javascript:alert(1)":     []byte("colon\n"),
		".pando/checkpoint":       []byte("pando checkpoint v1\n"),
		".pando/journal":          []byte("file 1 hello.txt 13 1 00\n"),
		".pando/tile/8/0/000.p/1": []byte("tile"),
		".pando/local/secret":     []byte(localSecret),
		".pando/local/lock":       []byte(localSecret),
		// Another spelling of the local state, as a case-folding file system
		// would resolve it; it must be refused by name.
		".Pando/Local/secret": []byte(localSecret),
	}
	for name, data := range files {
		writeFile(t, filepath.Join(tr.dir, filepath.FromSlash(name)), data)
	}
	writeFile(t, filepath.Join(tr.outside, "secret.txt"), []byte(outsideSecret))
	links := map[string]string{
		"latest.jar":  "pool/a b.jar",
		"docs":        "pool",
		"up-and-in":   "pool/../hello.txt",
		"escape":      "../outside",
		"escape-file": "../outside/secret.txt",
		"abs":         filepath.Join(tr.outside, "secret.txt"),
		"tolocal":     ".pando/local",
		"tometa":      ".pando",
		"chain":       "tometa/local",
		"loop":        "loop",
		"dangling":    "no/such/file",
		"pool/parent": "..",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(tr.dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A testServer is Serve running on a loopback port.
type testServer struct {
	addr   string
	url    string // scheme://addr
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startServer runs Serve(h, cfg) on 127.0.0.1:0 until the test ends (or
// stop), and fails the test if Serve returns an error.
func startServer(t *testing.T, h http.Handler, cfg Config) *testServer {
	t.Helper()
	return startOn(t, listen(t), h, cfg)
}

func startOn(t *testing.T, ln net.Listener, h http.Handler, cfg Config) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	s := &testServer{addr: ln.Addr().String(), url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	if cfg.TLS != nil {
		s.url = "https://" + s.addr
	}
	go func() { s.done <- Serve(ctx, ln, h, cfg) }()
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("Serve returned %v; want nil after the context ended", err)
		}
	})
	return s
}

// stop ends the server's context and returns what Serve returned.
func (s *testServer) stop() error {
	s.once.Do(func() {
		s.cancel()
		s.err = <-s.done
	})
	return s.err
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveTree serves tr with the file handler and no access log.
func serveTree(t *testing.T, tr *tree, cfg Config) *testServer {
	t.Helper()
	return startServer(t, Handler(openRoot(t, tr.dir), Options{}), cfg)
}

func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

// client returns an HTTP/1.1 client of its own that does not follow
// redirects, so each test sees exactly what the server answered.
func client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fetch sends a request with the given headers and returns the response with
// its body read.
func fetch(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, body
}

// rawGet sends target verbatim as the request-target of an HTTP/1.1 GET, so
// that no client library normalizes it first, and returns the status and
// body.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %q: reading body: %v", target, err)
	}
	return resp.StatusCode, string(body)
}

// smallBuffers is a listener whose connections have a small kernel send
// buffer, so that the server blocks on a client that does not read instead
// of parking megabytes in the kernel.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(32 << 10)
	}
	return c, err
}

// setReadBuffer gives a client connection a small kernel receive buffer.
func setReadBuffer(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.(*net.TCPConn).SetReadBuffer(32 << 10); err != nil {
		t.Fatal(err)
	}
}
