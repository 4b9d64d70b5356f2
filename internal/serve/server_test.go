package serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/certtest"
)

// h2cClient speaks only HTTP/2 with prior knowledge, as a syncing mirror may.
func h2cClient(t *testing.T) *http.Client {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestH2CPriorKnowledge(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	c := h2cClient(t)
	var wg sync.WaitGroup
	paths := []string{"/hello.txt", "/data.bin", "/pool/a%20b.jar", "/.pando/checkpoint", "/.pando/journal", "/pool/"}
	for _, p := range paths {
		wg.Go(func() {
			resp, _ := fetch(t, c, "GET", s.url+p, nil)
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Errorf("h2c GET %s = %d over %s; want 200 over HTTP/2.0", p, resp.StatusCode, resp.Proto)
			}
		})
	}
	wg.Wait()
	resp, body := fetch(t, c, "GET", s.url+"/data.bin", map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != 206 || !bytes.Equal(body, tr.data[10:20]) {
		t.Errorf("h2c range = %d %x; want 206 %x", resp.StatusCode, body, tr.data[10:20])
	}
	// Plain HTTP/1.1 on the same port still works.
	resp, _ = fetch(t, client(t), "GET", s.url+"/hello.txt", nil)
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Errorf("HTTP/1.1 GET = %d over %s; want 200 over HTTP/1.1", resp.StatusCode, resp.Proto)
	}
}

func TestTLS(t *testing.T) {
	tr := newTree(t)
	certFile, keyFile, pool := certtest.SelfSigned(t, t.TempDir())
	tlsConfig, err := LoadTLS(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	s := serveTree(t, tr, Config{TLS: tlsConfig})
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("url %s", s.url)
	}
	for _, proto := range []string{"HTTP/2.0", "HTTP/1.1"} {
		var p http.Protocols
		p.SetHTTP1(proto == "HTTP/1.1")
		p.SetHTTP2(proto == "HTTP/2.0")
		transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, Protocols: &p}
		t.Cleanup(transport.CloseIdleConnections)
		resp, body := fetch(t, &http.Client{Transport: transport}, "GET", s.url+"/data.bin", map[string]string{"Range": "bytes=0-99"})
		if resp.StatusCode != 206 || resp.Proto != proto || !bytes.Equal(body, tr.data[:100]) {
			t.Errorf("HTTPS range over %s = %d over %s with %d bytes; want 206 over %s with 100", proto, resp.StatusCode, resp.Proto, len(body), proto)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("over %s: TLS state %+v; want TLS 1.2 or later", proto, resp.TLS)
		}
	}
	// A client that does not trust the certificate is refused by its own check.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/hello.txt", nil)
	if _, err := client(t).Do(req); err == nil {
		t.Error("a client without the test CA fetched over TLS")
	}
}

func TestLoadTLSNamesTheBadFile(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := certtest.SelfSigned(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	writeFile(t, garbage, []byte("not PEM\n"))
	_, otherKey, _ := certtest.SelfSigned(t, t.TempDir())
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		cert, key string
		want      string
	}{
		{missing, keyFile, "tls certificate: open " + missing + ": no such file or directory"},
		{certFile, missing, "tls key: open " + missing + ": no such file or directory"},
		{garbage, keyFile, "tls certificate " + garbage + " with key " + keyFile + ": tls: failed to find any PEM data in certificate input"},
		{certFile, garbage, "tls certificate " + certFile + " with key " + garbage + ": tls: failed to find any PEM data in key input"},
		{certFile, otherKey, "tls certificate " + certFile + " with key " + otherKey + ": tls: private key does not match public key"},
	}
	for _, tt := range tests {
		_, err := LoadTLS(tt.cert, tt.key)
		if err == nil || err.Error() != tt.want {
			t.Errorf("LoadTLS(%s, %s) = %v; want %q", tt.cert, tt.key, err, tt.want)
		}
	}
}

func TestServeRefusesABadConfig(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{WriteTimeout: -time.Second}, "negative write timeout -1s"},
		{Config{ShutdownTimeout: -1}, "negative shutdown timeout -1ns"},
		{Config{MaxHeaderBytes: -1}, "negative max header bytes -1"},
		{Config{TLS: &tls.Config{}}, "TLS configuration has no certificate"},
	}
	for _, tt := range tests {
		ln := listen(t)
		err := Serve(t.Context(), ln, http.NotFoundHandler(), tt.cfg)
		want := fmt.Sprintf("serve on %s: %s", ln.Addr(), tt.want)
		if err == nil || err.Error() != want {
			t.Errorf("Serve(%+v) = %v; want %q", tt.cfg, err, want)
		}
		if _, err := ln.Accept(); err == nil {
			t.Errorf("Serve(%+v) left its listener open", tt.cfg)
		}
	}
}

// protocols names a client for each protocol a graceful shutdown must drain.
var protocols = []struct {
	name   string
	client func(*testing.T) *http.Client
}{
	{"HTTP/1.1", client},
	{"h2c", h2cClient},
}

func TestGracefulShutdownFinishesRequestsInFlight(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			started := make(chan struct{})
			var finished atomic.Bool
			slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				time.Sleep(500 * time.Millisecond)
				io.WriteString(w, "finished")
				finished.Store(true)
			})
			s := startServer(t, slow, Config{})
			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := p.client(t).Get(s.url + "/slow")
				if err != nil {
					got <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				got <- result{string(b), err}
			}()
			<-started
			if err := s.stop(); err != nil {
				t.Errorf("Serve = %v; want nil", err)
			}
			if !finished.Load() {
				t.Error("Serve returned before the request in flight finished")
			}
			if r := <-got; r.err != nil || r.body != "finished" {
				t.Errorf("request in flight during shutdown: %q, %v; want \"finished\"", r.body, r.err)
			}
			if c, err := net.Dial("tcp", s.addr); err == nil {
				c.Close()
				t.Error("the server still accepts connections after Serve returned")
			}
		})
	}
}

func TestShutdownIsBounded(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			started, release := make(chan struct{}), make(chan struct{})
			defer close(release)
			stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-release
			})
			s := startServer(t, stuck, Config{ShutdownTimeout: 200 * time.Millisecond})
			failed := make(chan error, 1)
			go func() {
				resp, err := p.client(t).Get(s.url + "/stuck")
				if err == nil {
					resp.Body.Close()
				}
				failed <- err
			}()
			<-started
			begin := time.Now()
			if err := s.stop(); err != nil {
				t.Errorf("Serve = %v; want nil after a forced close", err)
			}
			if d := time.Since(begin); d < 200*time.Millisecond || d > 5*time.Second {
				t.Errorf("Serve took %v to return; want about the 200ms shutdown timeout", d)
			}
			if err := <-failed; err == nil {
				t.Error("the stuck request succeeded; want its connection closed")
			}
		})
	}
}

// slowRead reads body in small pieces with a pause between them, as a client
// on a slow link does, and returns what it read.
func slowRead(body io.Reader, piece int64, pause time.Duration) ([]byte, error) {
	var out bytes.Buffer
	for {
		n, err := out.ReadFrom(io.LimitReader(body, piece))
		if err != nil {
			return out.Bytes(), err
		}
		if n < piece {
			return out.Bytes(), nil
		}
		time.Sleep(pause)
	}
}

// stallConfig has write and read timeouts far shorter than the downloads in
// the tests below take.
var stallConfig = Config{ReadTimeout: 250 * time.Millisecond, WriteTimeout: 250 * time.Millisecond}

// slowClient returns a client whose connections have a small receive buffer,
// so that its reading pace, not the kernel, paces the server.
func slowClient(t *testing.T, h2c bool) (*http.Client, *atomic.Int32) {
	t.Helper()
	dials := new(atomic.Int32)
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			dials.Add(1)
			setReadBuffer(t, c)
		}
		return c, err
	}}
	if h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr.Protocols = &p
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, dials
}

func TestSlowDownloadOutlivesWriteTimeout(t *testing.T) {
	tr := newTree(t)
	big := bytes.Repeat([]byte("slow link "), 300_000) // 3 MB
	writeFile(t, filepath.Join(tr.dir, "big.bin"), big)
	for _, h2c := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2c=%v", h2c), func(t *testing.T) {
			s := startOn(t, smallBuffers{listen(t)}, Handler(openRoot(t, tr.dir), Options{}), stallConfig)
			c, dials := slowClient(t, h2c)
			begin := time.Now()
			resp, err := c.Get(s.url + "/big.bin")
			if err != nil {
				t.Fatal(err)
			}
			got, err := slowRead(resp.Body, 32<<10, 15*time.Millisecond)
			resp.Body.Close()
			took := time.Since(begin)
			if err != nil || !bytes.Equal(got, big) {
				t.Fatalf("slow download: %d of %d bytes, %v", len(got), len(big), err)
			}
			if took < 4*stallConfig.WriteTimeout {
				t.Fatalf("download took only %v; the test needs it to outlast the write timeout several times", took)
			}
			// The connection survived, too: the next request reuses it.
			resp, body := fetch(t, c, "GET", s.url+"/hello.txt", nil)
			if resp.StatusCode != 200 || string(body) != "hello, world\n" || dials.Load() != 1 {
				t.Errorf("next request: %d %q on %d connections; want 200 on the same one", resp.StatusCode, body, dials.Load())
			}
		})
	}
}

func TestStalledDownloadIsCutOff(t *testing.T) {
	tr := newTree(t)
	big := bytes.Repeat([]byte("stalled   "), 800_000) // 8 MB
	writeFile(t, filepath.Join(tr.dir, "big.bin"), big)
	for _, h2c := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2c=%v", h2c), func(t *testing.T) {
			s := startOn(t, smallBuffers{listen(t)}, Handler(openRoot(t, tr.dir), Options{}), stallConfig)
			c, _ := slowClient(t, h2c)
			resp, err := c.Get(s.url + "/big.bin")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			time.Sleep(6 * stallConfig.WriteTimeout) // read nothing: no progress
			got, err := io.ReadAll(resp.Body)
			if err == nil || len(got) >= len(big) {
				t.Errorf("stalled download: read %d of %d bytes, err %v; want the server to cut it off", len(got), len(big), err)
			}
		})
	}
}

func TestKeepAlive(t *testing.T) {
	// Keep-alive: several requests from one client share one connection.
	s := serveTree(t, newTree(t), Config{})
	c := client(t)
	reused := 0
	for range 3 {
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				}
			},
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/hello.txt", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if reused != 2 {
		t.Errorf("%d of 3 requests reused a connection; want 2", reused)
	}
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	s := serveTree(t, newTree(t), Config{MaxHeaderBytes: 4 << 10})
	resp, _ := fetch(t, client(t), "GET", s.url+"/hello.txt", map[string]string{"X-Big": strings.Repeat("x", 16<<10)})
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB of headers: %d; want 431", resp.StatusCode)
	}
}

func TestSlowHeadersAreCutOff(t *testing.T) {
	s := serveTree(t, newTree(t), Config{ReadHeaderTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /hello.txt HTTP/1.1\r\nHost: test\r\n") // and never the blank line
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	begin := time.Now()
	_, err = io.ReadAll(conn)
	if err != nil || time.Since(begin) > 4*time.Second {
		t.Errorf("slow headers: connection closed after %v with %v; want closed by the server at about 200ms", time.Since(begin), err)
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	err := Serve(t.Context(), ln, http.NotFoundHandler(), Config{})
	if err == nil || !strings.HasPrefix(err.Error(), "serve on "+addr+": ") {
		t.Errorf("Serve on a closed listener = %v; want an error naming %s", err, addr)
	}
}

func TestLogsTheListeningAddress(t *testing.T) {
	var out buftest.Buffer
	s := startServer(t, http.NotFoundHandler(), Config{Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if want := "msg=serving addr=" + s.addr + " tls=false"; !strings.Contains(out.String(), want) {
		t.Errorf("log %q lacks %q", out.String(), want)
	}
}

func TestReadTimeoutDoesNotCancelALongResponse(t *testing.T) {
	// The read timeout bounds reading the request; setting it must not cut
	// short a response that takes longer, nor cancel the request's context
	// (an embedding handler that watches the context would give up).
	big := bytes.Repeat([]byte("0123456789"), 300_000)
	ctxErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, bytes.NewReader(big))
		ctxErr <- r.Context().Err()
	})
	// The write timeout is long here: this test is about the read
	// timeout, and a stall of the test machine longer than a short write
	// timeout would cut the response for another reason.
	cfg := Config{ReadTimeout: stallConfig.ReadTimeout, WriteTimeout: 10 * time.Second}
	s := startOn(t, smallBuffers{listen(t)}, h, cfg)
	c, _ := slowClient(t, false)
	resp, err := c.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	got, err := slowRead(resp.Body, 32<<10, 15*time.Millisecond) // 1.4 s in all
	resp.Body.Close()
	if err != nil || len(got) != len(big) {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(big), err)
	}
	if err := <-ctxErr; err != nil {
		t.Errorf("request context after a long response: %v; want still live", err)
	}
}
