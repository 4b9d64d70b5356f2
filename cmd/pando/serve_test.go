package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/certtest"
)

// runServeCmd runs "pando serve args..." in-process and returns its exit
// status and output.
func runServeCmd(ctx context.Context, args ...string) (code int, stdout, stderr *buftest.Buffer) {
	stdout, stderr = new(buftest.Buffer), new(buftest.Buffer)
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr}
	return run(ctx, e, append([]string{"serve"}, args...)), stdout, stderr
}

// A runningServe is "pando serve" running in-process until stop.
type runningServe struct {
	cancel context.CancelFunc
	done   chan int
	stderr *buftest.Buffer
	stdout *buftest.Buffer
	addr   string
}

var serveAddrRE = regexp.MustCompile(`msg=serving addr=(\S+)`)

// startServeCmd starts "pando serve --listen 127.0.0.1:0 args..." and waits
// for the address it logs.
func startServeCmd(t *testing.T, args ...string) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	r := &runningServe{cancel: cancel, done: make(chan int, 1)}
	r.stdout, r.stderr = new(buftest.Buffer), new(buftest.Buffer)
	e := &env{stdin: strings.NewReader(""), stdout: r.stdout, stderr: r.stderr}
	go func() { r.done <- run(ctx, e, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)) }()
	t.Cleanup(func() { r.stop() })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := serveAddrRE.FindStringSubmatch(r.stderr.String()); m != nil {
			r.addr = m[1]
			return r
		}
		select {
		case code := <-r.done:
			close(r.done) // for stop in the cleanup
			t.Fatalf("pando serve exited %d before listening:\n%s", code, r.stderr)
		default:
		}
	}
	t.Fatalf("pando serve logged no address:\n%s", r.stderr)
	return nil
}

// stop cancels the command's context (as SIGTERM does) and returns its exit
// status.
func (r *runningServe) stop() int {
	r.cancel()
	code, ok := <-r.done
	if ok {
		close(r.done)
	}
	return code
}

// serveTestTree writes a small published tree with local state.
func serveTestTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range map[string]string{
		"pool/lib-1.0.jar":    "0123456789abcdefghij",
		".pando/checkpoint":   "checkpoint\n",
		".pando/local/secret": "LOCAL-SECRET",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestServeHelp(t *testing.T) {
	code, _, stderr := runServeCmd(t.Context(), "--help")
	if code != 0 || !strings.HasPrefix(stderr.String(), "Usage: pando serve --root DIR") ||
		!strings.Contains(stderr.String(), "-access-log FILE") {
		t.Errorf("pando serve --help: exit %d\n%s", code, stderr)
	}
}

func TestServeBadUsage(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		args []string
		msg  string
	}{
		{nil, "need --root DIR"},
		{[]string{"--root", root, "--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--root", root, "--tls-key", "key.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--root", root, "--listen", ""}, "--listen needs an address"},
		{[]string{"--root", root, "extra"}, `unexpected argument "extra"`},
		{[]string{"--root", root, "--port", "80"}, "flag provided but not defined: -port"},
	}
	for _, tt := range tests {
		code, _, stderr := runServeCmd(t.Context(), tt.args...)
		want := "pando serve: " + tt.msg + "\nrun \"pando serve --help\" for usage\n"
		if code != 2 || stderr.String() != want {
			t.Errorf("pando serve %q: exit %d, stderr %q; want exit 2, %q", tt.args, code, stderr, want)
		}
	}
}

func TestServeFailures(t *testing.T) {
	root := t.TempDir()
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	notPEM := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"--root", missing}, "tree: open " + missing + ": no such file or directory"},
		{[]string{"--root", notPEM}, "tree: open " + notPEM + ": not a directory"},
		{[]string{"--root", root, "--listen", busy.Addr().String()},
			"listen on " + busy.Addr().String() + ": bind: address already in use"},
		{[]string{"--root", root, "--listen", "127.0.0.1:99999"}, "listen on 127.0.0.1:99999: address 99999: invalid port"},
		{[]string{"--root", root, "--tls-cert", missing, "--tls-key", notPEM},
			"tls certificate: open " + missing + ": no such file or directory"},
		{[]string{"--root", root, "--tls-cert", notPEM, "--tls-key", notPEM},
			"tls certificate " + notPEM + " with key " + notPEM + ": tls: failed to find any PEM data in certificate input"},
		{[]string{"--root", root, "--access-log", filepath.Join(missing, "access.log")},
			"access log: open " + filepath.Join(missing, "access.log") + ": no such file or directory"},
	}
	for _, tt := range tests {
		code, _, stderr := runServeCmd(t.Context(), tt.args...)
		want := "pando serve: " + tt.msg + "\n"
		if code != 1 || stderr.String() != want {
			t.Errorf("pando serve %q: exit %d, stderr %q; want exit 1, %q", tt.args, code, stderr, want)
		}
	}
}

func TestServeCommand(t *testing.T) {
	root := serveTestTree(t)
	accessLog := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(accessLog, []byte("an earlier line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServeCmd(t, "--root", root, "--access-log", accessLog)
	base := "http://" + s.addr

	// The real curl, resuming a download by range.
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.CommandContext(t.Context(), curl, "-q", "-sS", "--noproxy", "*",
			"-r", "10-14", "-w", " %{http_code}", base+"/pool/lib-1.0.jar").Output()
		if err != nil || string(out) != "abcde 206" {
			t.Errorf("curl -r 10-14: %q, %v; want \"abcde 206\"", out, err)
		}
	} else {
		t.Log("curl not installed; skipping its part")
	}

	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	for path, want := range map[string]int{
		"/pool/lib-1.0.jar":    200,
		"/.pando/checkpoint":   200,
		"/.pando/local/secret": 404,
		"/../etc/passwd":       400,
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
		req.URL.Opaque = path // send the path exactly as written
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || strings.Contains(string(body), "LOCAL-SECRET") {
			t.Errorf("GET %s = %d; want %d", path, resp.StatusCode, want)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("pando serve exited %d after its context ended; want 0\n%s", code, s.stderr)
	}
	if !strings.Contains(s.stderr.String(), `msg="shutting down"`) {
		t.Errorf("stderr lacks the shutdown line:\n%s", s.stderr)
	}
	logged, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(logged), "\n"), "\n")
	if lines[0] != "an earlier line" {
		t.Errorf("the access log was not appended to: %q", lines[0])
	}
	for _, want := range []string{`"GET /pool/lib-1.0.jar HTTP/1.1" 200 20 "-" "Go-http-client/1.1"`,
		`"GET /.pando/local/secret HTTP/1.1" 404 `, `"GET /../etc/passwd HTTP/1.1" 400 `} {
		if !strings.Contains(string(logged), want) {
			t.Errorf("access log lacks %s:\n%s", want, logged)
		}
	}
}

func TestServeAccessLogToStdout(t *testing.T) {
	s := startServeCmd(t, "--root", serveTestTree(t), "--access-log", "-")
	resp, err := http.Get("http://" + s.addr + "/.pando/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	re := regexp.MustCompile(`^127\.0\.0\.1 - - \[[^\]]+\] "GET /\.pando/checkpoint HTTP/1\.1" 200 11 "-" "Go-http-client/1\.1"\n$`)
	if !re.MatchString(s.stdout.String()) {
		t.Errorf("stdout %q is not one combined log line for the request", s.stdout)
	}
}

func TestServeTLSFlags(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := certtest.SelfSigned(t, dir)
	s := startServeCmd(t, "--root", serveTestTree(t), "--tls-cert", certFile, "--tls-key", keyFile)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + s.addr + "/pool/lib-1.0.jar")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || string(body) != "0123456789abcdefghij" {
		t.Errorf("HTTPS GET = %d over %s, %q; want 200 over HTTP/2.0 with the file", resp.StatusCode, resp.Proto, body)
	}
	if !strings.Contains(s.stderr.String(), "tls=true") {
		t.Errorf("startup line does not say TLS:\n%s", s.stderr)
	}
}
