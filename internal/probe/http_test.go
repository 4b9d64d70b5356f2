package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestStatPipelines: an HTTP/1.1-only server sees several HEAD requests
// arrive on one connection before it answered the first, on no more
// connections than configured, and every size is right.
func TestStatPipelines(t *testing.T) {
	s := newPipeServer(t, nil)
	p := mustNew(t, "http", s.url, testConfig())
	ps := paths(500)
	got, err := statAll(t, t.Context(), p, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range ps {
		if st := got[path]; st.Err != nil || st.Size != int64(len(path)) {
			t.Fatalf("%s: %+v, want size %d", path, st, len(path))
		}
	}
	if n := s.maxBatch.Load(); n < 2 {
		t.Errorf("at most %d request arrived before an answer: not pipelined", n)
	}
	if n := s.conns.Load(); n > 2 {
		t.Errorf("%d connections, want at most Conns = 2", n)
	}
	t.Logf("%d requests on %d connections, up to %d at once", s.requests.Load(), s.conns.Load(), s.maxBatch.Load())

	// The second pass skips the h2c attempt: the mode is remembered.
	before := s.conns.Load()
	if _, err := statAll(t, t.Context(), p, ps[:10]); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.Load() - before; n != 1 {
		t.Errorf("second pass of 10 paths opened %d connections, want 1", n)
	}
}

// TestStatAnswers: the status and headers of each answer map to a size or
// a classified error.
func TestStatAnswers(t *testing.T) {
	s := newPipeServer(t, func(s *pipeServer) {
		s.answer = func(path string) string {
			switch path {
			case "gone":
				return "HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n"
			case "missing":
				return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
			case "broken":
				return "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
			case "no-length":
				return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			case "early":
				return "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\n"
			}
			return "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n"
		}
	})
	p := mustNew(t, "http", s.url, testConfig())
	got, err := statAll(t, t.Context(), p, []string{"ok", "gone", "missing", "broken", "no-length", "early", "a b/c%d"})
	if err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	for _, c := range []struct {
		path   string
		size   int64
		class  error
		status int
	}{
		{"ok", 42, nil, 0},
		{"a b/c%d", 42, nil, 0},
		{"early", 7, nil, 0},
		{"gone", -1, ErrNotFound, 410},
		{"missing", -1, ErrNotFound, 404},
		{"broken", -1, ErrProtocol, 500},
		{"no-length", -1, ErrProtocol, 0},
	} {
		st := got[c.path]
		if st.Size != c.size || !errors.Is(st.Err, c.class) || c.class == nil && st.Err != nil {
			t.Errorf("%s: size %d, err %v; want size %d, class %v", c.path, st.Size, st.Err, c.size, c.class)
		}
		if c.status != 0 && (!errors.As(st.Err, &se) || se.Status != c.status) {
			t.Errorf("%s: %v, want a *StatusError with %d", c.path, st.Err, c.status)
		}
	}
	if want := s.url + "missing: 404 Not Found"; got["missing"].Err.Error() != want {
		t.Errorf("error %q, want %q", got["missing"].Err, want)
	}
}

// TestStatConnectionClose: a server that closes after every fifth answer
// still gets every path answered.
func TestStatConnectionClose(t *testing.T) {
	s := newPipeServer(t, func(s *pipeServer) { s.closeEvery = 5 })
	p := mustNew(t, "http", s.url, testConfig())
	ps := paths(200)
	got, err := statAll(t, t.Context(), p, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range ps {
		if st := got[path]; st.Err != nil || st.Size != int64(len(path)) {
			t.Fatalf("%s: %+v", path, st)
		}
	}
	t.Logf("%d requests for %d paths on %d connections", s.requests.Load(), len(ps), s.conns.Load())
}

// TestStatResetMidPipeline: a server that resets each connection after
// three answers, with more requests pipelined, still gets every path
// answered.
func TestStatResetMidPipeline(t *testing.T) {
	s := newPipeServer(t, func(s *pipeServer) { s.resetAfter = 3 })
	p := mustNew(t, "http", s.url, testConfig())
	ps := paths(60)
	got, err := statAll(t, t.Context(), p, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range ps {
		if st := got[path]; st.Err != nil || st.Size != int64(len(path)) {
			t.Fatalf("%s: %+v", path, st)
		}
	}
}

// TestStatNoPipelining: a server that answers only the first of several
// pipelined requests and then nothing more on that connection still gets
// every path answered: the prober stops sending requests ahead to it.
func TestStatNoPipelining(t *testing.T) {
	s := newPipeServer(t, func(s *pipeServer) { s.onlyFirst = true })
	cfg := testConfig()
	cfg.HeaderTimeout = 300 * time.Millisecond
	p := mustNew(t, "http", s.url, cfg)
	ps := paths(40)
	got, err := statAll(t, t.Context(), p, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range ps {
		if st := got[path]; st.Err != nil || st.Size != int64(len(path)) {
			t.Fatalf("%s: %+v", path, st)
		}
	}
}

// TestStatHangingServer: a server that accepts and never answers costs
// each path ErrTimeout, and the pass gives up within a few header timeouts.
func TestStatHangingServer(t *testing.T) {
	ln := listen(t)
	serveConns(t, ln, func(c net.Conn) { io.Copy(io.Discard, c) })
	cfg := testConfig()
	cfg.HeaderTimeout = 300 * time.Millisecond
	p := mustNew(t, "http", "http://"+ln.Addr().String()+"/", cfg)
	start := time.Now()
	got, err := statAll(t, t.Context(), p, paths(300))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Stat took %v against a hanging server", took)
	}
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("Stat: %v, want ErrTimeout", err)
	}
	if len(got) != 300 {
		t.Fatalf("%d paths answered, want 300", len(got))
	}
	for path, st := range got {
		if !errors.Is(st.Err, ErrTimeout) || st.Size != -1 {
			t.Fatalf("%s: %+v, want ErrTimeout", path, st)
		}
	}
}

// TestStatResettingServer: a server that resets every connection at once
// is unreachable, for every path and for the pass.
func TestStatResettingServer(t *testing.T) {
	ln := listen(t)
	serveConns(t, ln, func(c net.Conn) { c.(*net.TCPConn).SetLinger(0) })
	p := mustNew(t, "http", "http://"+ln.Addr().String()+"/", testConfig())
	got, err := statAll(t, t.Context(), p, paths(50))
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("Stat: %v, want ErrUnreachable", err)
	}
	for path, st := range got {
		if !errors.Is(st.Err, ErrUnreachable) {
			t.Fatalf("%s: %+v, want ErrUnreachable", path, st)
		}
	}
}

// TestStatRefused: nothing listening is ErrUnreachable, quickly.
func TestStatRefused(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	p := mustNew(t, "http", "http://"+addr+"/", testConfig())
	start := time.Now()
	_, err := statAll(t, t.Context(), p, paths(20))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Errorf("Stat: %v, want ErrUnreachable naming %s", err, addr)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
}

// TestStatCancel: ending the context ends the pass.
func TestStatCancel(t *testing.T) {
	ln := listen(t)
	serveConns(t, ln, func(c net.Conn) { io.Copy(io.Discard, c) })
	cfg := testConfig()
	cfg.HeaderTimeout = time.Minute
	p := mustNew(t, "http", "http://"+ln.Addr().String()+"/", cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := p.Stat(ctx, paths(50), func(Stat) {})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Errorf("Stat: %v, want the context's deadline", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
}

// redirectServer serves /pub/new (5 bytes), redirects /pub/old to it, and
// /pub/a and /pub/b to each other.
func redirectServer(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/pub/new", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	mux.Handle("/pub/old", http.RedirectHandler("/pub/new", http.StatusFound))
	mux.Handle("/pub/a", http.RedirectHandler("/pub/b", http.StatusMovedPermanently))
	mux.Handle("/pub/b", http.RedirectHandler("/pub/a", http.StatusMovedPermanently))
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// TestRedirects: a redirect is followed to its size; a loop is a protocol
// error after MaxRedirects, for Stat and Get alike.
func TestRedirects(t *testing.T) {
	s := redirectServer(t)
	p := mustNew(t, "http", s.URL+"/pub/", testConfig())
	got, err := statAll(t, t.Context(), p, []string{"old", "a", "new"})
	if err != nil {
		t.Fatal(err)
	}
	if st := got["old"]; st.Err != nil || st.Size != 5 {
		t.Errorf("old: %+v, want size 5", st)
	}
	if st := got["a"]; !errors.Is(st.Err, ErrProtocol) || !strings.Contains(st.Err.Error(), "too many redirects") {
		t.Errorf("a: %+v, want too many redirects", st)
	}
	if data, err := p.Get(t.Context(), "old", 100); err != nil || string(data) != "hello" {
		t.Errorf("Get old: %q, %v", data, err)
	}
	if _, err := p.Get(t.Context(), "a", 100); !errors.Is(err, ErrProtocol) {
		t.Errorf("Get a: %v, want ErrProtocol", err)
	}
}

// TestGet: a body within the limit is read; a larger one, a missing one
// and one shorter than its Content-Length fail with their class.
func TestGet(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/pub/checkpoint", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "signed note\n") })
	mux.HandleFunc("/pub/liar", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "only ten b")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // close the connection 90 bytes short
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	p := mustNew(t, "http", s.URL+"/pub/", testConfig())

	if data, err := p.Get(t.Context(), "checkpoint", 12); err != nil || string(data) != "signed note\n" {
		t.Errorf("Get: %q, %v", data, err)
	}
	want := fmt.Sprintf("GET %s/pub/checkpoint: protocol: larger than 11 bytes", s.URL)
	if _, err := p.Get(t.Context(), "checkpoint", 11); err == nil || err.Error() != want {
		t.Errorf("Get over the limit: %v, want %q", err, want)
	}
	if _, err := p.Get(t.Context(), "nothing", 100); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}
	if _, err := p.Get(t.Context(), "liar", 1000); !errors.Is(err, ErrProtocol) {
		t.Errorf("Get with a lying Content-Length: %v, want ErrProtocol", err)
	}
	body, err := p.Open(t.Context(), "liar")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(body)
	body.Close()
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "shorter than its Content-Length") {
		t.Errorf("Open with a lying Content-Length: %v", err)
	}
}

// TestOpenDrip: a body that drips one byte a second is cut after
// IdleTimeout with ErrTimeout.
func TestOpenDrip(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		for range 10 {
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	}))
	t.Cleanup(s.Close)
	cfg := testConfig()
	cfg.IdleTimeout = 300 * time.Millisecond
	p := mustNew(t, "http", s.URL+"/", cfg)
	start := time.Now()
	body, err := p.Open(t.Context(), "drip")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if !errors.Is(err, ErrTimeout) || string(data) != "x" {
		t.Errorf("read %q, %v; want one byte, then ErrTimeout", data, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}

// TestH2C: a cleartext server that speaks HTTP/2 with prior knowledge gets
// the HEADs as HTTP/2 streams.
func TestH2C(t *testing.T) {
	var h2 atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		w.Header().Set("Content-Length", "3")
	}))
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	p := mustNew(t, "http", s.URL+"/", testConfig())
	ps := paths(100)
	got, err := statAll(t, t.Context(), p, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range ps {
		if got[path].Size != 3 {
			t.Fatalf("%s: %+v", path, got[path])
		}
	}
	if n := h2.Load(); n < 100 {
		t.Errorf("%d HTTP/2 requests, want all 100 and the h2c probe", n)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, c := range []struct{ kind, url, want string }{
		{"http", "https://example.org/", `probe https://example.org/: scheme "https" does not match kind "http"`},
		{"gopher", "gopher://example.org/", `probe gopher://example.org/: unknown access point kind "gopher" (want http, https, rsync or ftp)`},
		{"http", "http://example.org/pub", `probe http://example.org/pub: path "/pub" does not end in /`},
		{"http", "http:///pub/", `probe http:///pub/: no host`},
		{"https", "https://u:p@example.org/", `probe https://u:p@example.org/: user information is only allowed in ftp URLs`},
		{"http", "http://example.org/?a=b", `probe http://example.org/?a=b: want http://host/path/ with no query or fragment`},
		{"rsync", "rsync://example.org/", `probe rsync://example.org/: no rsync module in the path`},
	} {
		_, err := New(c.kind, c.url, Config{})
		if err == nil || err.Error() != c.want {
			t.Errorf("New(%q, %q): %v, want %q", c.kind, c.url, err, c.want)
		}
	}
	if _, err := New("http", "http://example.org/", Config{Conns: 1000}); err == nil {
		t.Error("Conns 1000 accepted")
	}
}

// TestStatBadPaths: a path no object can have fails alone.
func TestStatBadPaths(t *testing.T) {
	s := newPipeServer(t, nil)
	p := mustNew(t, "http", s.url, testConfig())
	got, err := statAll(t, t.Context(), p, []string{"../etc/passwd", "/abs", "a//b", "fine"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../etc/passwd", "/abs", "a//b"} {
		if got[bad].Err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if got["fine"].Err != nil {
		t.Errorf("fine: %v", got["fine"].Err)
	}
}
