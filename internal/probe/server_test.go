package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testConfig is a Config with short timeouts for tests.
func testConfig() Config {
	return Config{
		Conns:          2,
		Pipeline:       16,
		ConnectTimeout: 2 * time.Second,
		HeaderTimeout:  2 * time.Second,
		IdleTimeout:    2 * time.Second,
	}
}

// listen returns a loopback listener closed when the test ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// serveConns accepts connections on ln and runs handle on each until the
// test ends, when every connection is closed.
func serveConns(t *testing.T, ln net.Listener, handle func(net.Conn)) {
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
}

// A pipeServer is an HTTP/1.1-only server written on raw connections, so
// a test sees how requests arrive: it reads every request already buffered
// before it answers the first of them, and counts the largest such batch.
// A HEAD of a path answers 200 with Content-Length len(path), unless
// answer says otherwise.
type pipeServer struct {
	url        string
	closeEvery int  // answer every n-th response with Connection: close, then close
	resetAfter int  // reset each connection after n responses
	onlyFirst  bool // answer the first of several requests that arrived together, then nothing
	answer     func(path string) string

	conns    atomic.Int32 // HTTP/1.1 connections
	open     atomic.Int32 // HTTP/1.1 connections open now
	maxOpen  atomic.Int32
	maxBatch atomic.Int32
	requests atomic.Int32
}

func newPipeServer(t *testing.T, setup func(*pipeServer)) *pipeServer {
	s := &pipeServer{}
	if setup != nil {
		setup(s)
	}
	ln := listen(t)
	s.url = "http://" + ln.Addr().String() + "/pub/"
	serveConns(t, ln, s.serve)
	return s
}

func (s *pipeServer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	answered := 0
	for first := true; ; first = false {
		batch, err := readBatch(br)
		if err != nil {
			return
		}
		if batch[0].ProtoMajor != 1 { // an h2c preface
			io.WriteString(c, "HTTP/1.1 505 HTTP Version Not Supported\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			return
		}
		if first {
			s.conns.Add(1)
			n := s.open.Add(1)
			defer s.open.Add(-1)
			raise(&s.maxOpen, n)
		}
		raise(&s.maxBatch, int32(len(batch)))
		if s.onlyFirst && len(batch) > 1 {
			bw.WriteString(s.respond(batch[0], false))
			bw.Flush()
			io.Copy(io.Discard, c)
			return
		}
		for _, req := range batch {
			s.requests.Add(1)
			answered++
			last := s.closeEvery > 0 && answered%s.closeEvery == 0
			bw.WriteString(s.respond(req, last))
			if last {
				bw.Flush()
				c.(*net.TCPConn).CloseWrite()
				time.Sleep(50 * time.Millisecond) // let the client read before the close
				return
			}
			if s.resetAfter > 0 && answered == s.resetAfter {
				bw.Flush()
				time.Sleep(20 * time.Millisecond)
				c.(*net.TCPConn).SetLinger(0)
				return
			}
		}
		if bw.Flush() != nil {
			return
		}
	}
}

// readBatch reads one request, then every other request already buffered.
func readBatch(br *bufio.Reader) ([]*http.Request, error) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	batch := []*http.Request{req}
	for req.ProtoMajor == 1 && br.Buffered() > 0 {
		r, err := http.ReadRequest(br)
		if err != nil {
			return nil, err
		}
		batch = append(batch, r)
	}
	return batch, nil
}

func (s *pipeServer) respond(req *http.Request, last bool) string {
	path := strings.TrimPrefix(req.URL.Path, "/pub/")
	head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n", len(path))
	if s.answer != nil {
		head = s.answer(path)
	}
	if last {
		head += "Connection: close\r\n"
	}
	return head + "\r\n"
}

func raise(a *atomic.Int32, n int32) {
	for {
		old := a.Load()
		if n <= old || a.CompareAndSwap(old, n) {
			return
		}
	}
}

// paths returns n distinct object paths of varied lengths.
func paths(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("pool/%c/file %d.deb", 'a'+i%26, i)
	}
	return out
}

// statAll runs Stat and collects the answers by path, failing the test if
// a path is answered twice or not at all.
func statAll(t *testing.T, ctx context.Context, p Prober, ps []string) (map[string]Stat, error) {
	t.Helper()
	got := map[string]Stat{}
	err := p.Stat(ctx, ps, func(st Stat) {
		if _, dup := got[st.Path]; dup {
			t.Errorf("%s answered twice", st.Path)
		}
		got[st.Path] = st
	})
	if err == nil && len(got) != len(ps) {
		t.Errorf("%d of %d paths answered", len(got), len(ps))
	}
	return got, err
}

func mustNew(t *testing.T, kind, url string, cfg Config) Prober {
	t.Helper()
	p, err := New(kind, url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}
