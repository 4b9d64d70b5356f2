package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer is an HTTP/1.1 server on loopback written for these tests: it
// answers GETs for files in order on each connection, and can be told to
// misbehave the ways real servers and proxies do.
type rawServer struct {
	files map[string][]byte
	// batch: before answering, wait (up to a second) until this many
	// requests have arrived on the connection, and count the connections
	// where they did.
	batch int
	// closeAfter: end each connection after this many answers, abruptly
	// (no Connection: close), leaving pipelined requests unanswered.
	closeAfter int
	// connClose: mark every answer Connection: close and end after it.
	connClose bool

	conns     atomic.Int64
	requests  atomic.Int64
	pipelined atomic.Int64 // connections that had batch requests waiting
	addr      string
}

func (s *rawServer) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Go(func() { s.serve(c) })
		}
	})
	s.addr = ln.Addr().String()
	return "http://" + s.addr + "/"
}

func (s *rawServer) serve(c net.Conn) {
	defer func() {
		// Close as real servers do: end the sending side and read off what
		// comes for a moment, so the client gets the answers already sent
		// rather than a reset that discards them.
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		io.Copy(io.Discard, c)
		c.Close()
	}()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // every test ends sooner
	reqs := make(chan *http.Request, 1024)
	go func() {
		defer close(reqs)
		br := bufio.NewReader(c)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			reqs <- r
		}
	}()
	if s.batch > 1 {
		deadline := time.Now().Add(time.Second)
		for len(reqs) < s.batch && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if len(reqs) >= s.batch {
			s.pipelined.Add(1)
		}
	}
	bw := bufio.NewWriter(c)
	answered := 0
	for r := range reqs {
		if s.closeAfter > 0 && answered == s.closeAfter {
			bw.Flush()
			return
		}
		s.requests.Add(1)
		s.answer(bw, r)
		answered++
		if len(reqs) == 0 || s.connClose {
			bw.Flush()
		}
		if s.connClose {
			return
		}
	}
}

func (s *rawServer) answer(w io.Writer, r *http.Request) {
	data, ok := s.files[strings.TrimPrefix(r.URL.Path, "/")]
	hdr := "HTTP/1.1 200 OK\r\n"
	if !ok {
		data = []byte("not found")
		hdr = "HTTP/1.1 404 Not Found\r\n"
	} else if rg := r.Header.Get("Range"); rg != "" {
		from, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		hdr = fmt.Sprintf("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %d-%d/%d\r\n", from, len(data)-1, len(data))
		data = data[from:]
	}
	if s.connClose {
		hdr += "Connection: close\r\n"
	}
	fmt.Fprintf(w, "%sContent-Length: %d\r\n\r\n", hdr, len(data))
	w.Write(data)
}

func testFiles(n, size int) map[string][]byte {
	files := make(map[string][]byte, n)
	for i := range n {
		files[fmt.Sprintf("d%d/f%d", i%7, i)] = bytes.Repeat([]byte{byte('a' + i%26)}, size+i%100)
	}
	return files
}

// fetchAll opens every file from jobs goroutines and checks each body.
func fetchAll(t *testing.T, c *Client, files map[string][]byte, jobs int) {
	t.Helper()
	names := make(chan string, len(files))
	for name := range files {
		names <- name
	}
	close(names)
	var wg sync.WaitGroup
	errs := make(chan error, len(files))
	for range jobs {
		wg.Go(func() {
			for name := range names {
				body, _, err := c.Open(t.Context(), name, 0)
				if err != nil {
					errs <- err
					continue
				}
				data, err := io.ReadAll(body)
				body.Close()
				if err != nil || !bytes.Equal(data, files[name]) {
					errs <- fmt.Errorf("%s: got %d bytes (%v), want %d", name, len(data), err, len(files[name]))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestPipelinedFiles: files go over at most Conns connections, many
// requests in flight on each, and every body is the right one.
func TestPipelinedFiles(t *testing.T) {
	s := &rawServer{files: testFiles(400, 3000), batch: 8}
	c, err := Dial(t.Context(), s.start(t), Config{Conns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fetchAll(t, c, s.files, 64)
	if n := s.conns.Load(); n < 1 || n > 4 {
		t.Errorf("%d connections, want 1 to 4", n)
	}
	if s.pipelined.Load() == 0 {
		t.Errorf("no connection had 8 requests waiting before its first answer: not pipelined")
	}
	if got := c.FileProto(); got != "HTTP/1.1 pipelined" {
		t.Errorf("FileProto = %q", got)
	}
}

// TestPipelineServerEndsConnections: a server that drops each connection
// after a few answers, with more asked, or that closes after every answer,
// still delivers every file: what it did not answer is asked again.
func TestPipelineServerEndsConnections(t *testing.T) {
	for name, s := range map[string]*rawServer{
		"abrupt close after 3": {closeAfter: 3},
		"Connection: close":    {connClose: true},
	} {
		t.Run(name, func(t *testing.T) {
			s.files = testFiles(120, 500)
			c, err := Dial(t.Context(), s.start(t), Config{Conns: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fetchAll(t, c, s.files, 16)
			if d := c.pipe.currentDepth(); s.closeAfter > 0 && d > s.closeAfter {
				t.Errorf("depth %d after connections ended at %d answers, want at most %d", d, s.closeAfter, s.closeAfter)
			}
		})
	}
}

// TestPipelineEarlyCloseAndStatus: a body closed half read, a 404 and a
// Range answer leave the connection usable for what follows.
func TestPipelineEarlyCloseAndStatus(t *testing.T) {
	s := &rawServer{files: map[string][]byte{"big": bytes.Repeat([]byte("x"), 1<<20), "small": []byte("0123456789")}}
	c, err := Dial(t.Context(), s.start(t), Config{Conns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body, _, err := c.Open(t.Context(), "big", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	body.Close() // most of a MiB unread: the connection ends
	_, _, err = c.Open(t.Context(), "missing", 0)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 404 || !strings.HasSuffix(se.URL, "/missing") {
		t.Errorf("missing file: %v, want a 404 *StatusError naming the URL", err)
	}
	body, start, err := c.Open(t.Context(), "small", 4)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	body.Close()
	if string(data) != "456789" || start != 4 {
		t.Errorf("range from 4: got %q from %d", data, start)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (one ended by the early close)", n)
	}
}

// TestPipelineCanceledAndDown: a caller that gives up while waiting gets
// its context's error, and a server that is not there fails the request
// naming it.
func TestPipelineCanceledAndDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			silent <- c // accepts, reads nothing, answers nothing
		}
	}()
	defer func() {
		ln.Close()
		for len(silent) > 0 {
			(<-silent).Close()
		}
	}()
	c, _ := Dial(t.Context(), "http://"+ln.Addr().String()+"/", Config{})
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := c.Open(ctx, "a", 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting on a silent server: %v, want the context's deadline", err)
	}

	free, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := free.Addr().String()
	free.Close() // nothing listens there now
	c2, _ := Dial(t.Context(), "http://"+addr+"/", Config{ConnectTimeout: time.Second})
	defer c2.Close()
	start := time.Now()
	_, _, err = c2.Open(t.Context(), "a", 0)
	if err == nil || !strings.Contains(err.Error(), addr) || time.Since(start) > 5*time.Second {
		t.Errorf("server down: %v after %v, want an error naming %s", err, time.Since(start), addr)
	}
	// Many callers at once: each fails, none waits for a dial of its own
	// in turn, and none is left in the queue with no connection to take
	// it (a request queued just as the last failing connection ends). The
	// bursts repeat to give that race room to show.
	for range 20 {
		errs := make(chan error, 50)
		for range 50 {
			go func() {
				_, _, err := c2.Open(t.Context(), "b", 0)
				errs <- err
			}()
		}
		for range 50 {
			select {
			case err := <-errs:
				if err == nil {
					t.Fatal("a request to a server that is down succeeded")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a request to a server that is down is still waiting after 10s")
			}
		}
	}
}
