package edge_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pando-mirror/pando/internal/edge"
	"github.com/pando-mirror/pando/internal/serve"
)

// The timeouts of the edges in these tests: short, so that the tests are,
// and apart, so that one is not taken for another.
const (
	readTimeout  = 400 * time.Millisecond
	idleTimeout  = 700 * time.Millisecond
	writeTimeout = 500 * time.Millisecond
)

// bigBody is the size of the answer to /big: more than loopback's socket
// buffers hold, so that a client that stops reading stalls the write.
const bigBody = 64 << 20

// timeoutEdge serves a 204 on every path but /big, which gets bigBody
// bytes, with the timeouts above; it returns the address.
func timeoutEdge(t *testing.T) string {
	t.Helper()
	body := make([]byte, bigBody)
	h := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/big" {
			ctx.SetBody(body)
			return
		}
		ctx.SetStatusCode(http.StatusNoContent)
	}
	cfg := serve.Config{ReadHeaderTimeout: readTimeout, IdleTimeout: idleTimeout, WriteTimeout: writeTimeout}
	r := run(t, context.Background(), func(ctx context.Context, ln net.Listener) error {
		return edge.ServeHandler(ctx, ln, h, cfg)
	})
	return strings.TrimPrefix(r.base, "http://")
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second)) // the test's own bound
	return c
}

// closedBy waits for the server to close c (without an answer) and
// returns when it did.
func closedBy(t *testing.T, c net.Conn, br *bufio.Reader) time.Time {
	t.Helper()
	b, err := br.ReadByte()
	if err == nil {
		rest, _ := br.Peek(br.Buffered())
		t.Fatalf("got %q, want the connection closed", append([]byte{b}, rest...))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the connection within 20s")
	}
	return time.Now()
}

func request(t *testing.T, c net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: e\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

// TestEdgeClosesSilentConnections checks that a connection that sends
// nothing is answered 408 and closed once the read timeout from its
// accept has passed, and not before.
func TestEdgeClosesSilentConnections(t *testing.T) {
	addr := timeoutEdge(t)
	start := time.Now()
	c := dial(t, addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if d := time.Since(start); d < readTimeout {
		t.Errorf("answered after %v, before the read timeout %v", d, readTimeout)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("status %d, close %v; want 408 and the connection closed", resp.StatusCode, resp.Close)
	}
	closedBy(t, c, br)
}

// TestEdgeRefusesSlowRequests checks that a request whose header
// trickles in (slowloris) is answered 408 once the read timeout from its
// first byte has passed, on a new connection and on a kept-alive one; and
// that a request sent in pieces within the timeout is answered.
func TestEdgeRefusesSlowRequests(t *testing.T) {
	addr := timeoutEdge(t)
	for _, keptAlive := range []bool{false, true} {
		c := dial(t, addr)
		br := bufio.NewReader(c)
		if keptAlive {
			request(t, c, br, "/").Body.Close()
			time.Sleep(idleTimeout / 2) // a wait that the idle timeout allows
		}
		// In time, in three pieces.
		for _, piece := range []string{"GET /a HTTP/1.1\r\n", "Host: e\r\n", "\r\n"} {
			if _, err := io.WriteString(c, piece); err != nil {
				t.Fatal(err)
			}
			time.Sleep(readTimeout / 8)
		}
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("kept alive %v: a request sent in pieces in time: %v, %v", keptAlive, resp, err)
		}
		// Too slow: a header field every 50 ms, for at most 10 s.
		start := time.Now()
		trickled := make(chan struct{})
		go func() {
			defer close(trickled)
			if _, err := io.WriteString(c, "GET /b HTTP/1.1\r\nHost: e\r\n"); err != nil {
				return
			}
			for i := range 200 {
				time.Sleep(50 * time.Millisecond)
				if _, err := fmt.Fprintf(c, "X-Slow-%d: yes\r\n", i); err != nil {
					return
				}
			}
		}()
		resp, err := http.ReadResponse(br, nil)
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("kept alive %v: trickled request: %v", keptAlive, err)
		}
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("kept alive %v: trickled request: status %d, want 408", keptAlive, resp.StatusCode)
		}
		if elapsed < readTimeout {
			t.Errorf("kept alive %v: refused after %v, before the read timeout %v", keptAlive, elapsed, readTimeout)
		}
		c.Close()
		<-trickled
	}
}

// TestEdgeClosesIdleConnections checks that a kept-alive connection whose
// requests come closer together than the idle timeout stays open for
// longer than it, and that it is closed once it has idled for the idle
// timeout, and not before.
func TestEdgeClosesIdleConnections(t *testing.T) {
	addr := timeoutEdge(t)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	start := time.Now()
	var last time.Time
	for time.Since(start) < 3*idleTimeout {
		request(t, c, br, "/").Body.Close()
		last = time.Now()
		time.Sleep(idleTimeout / 4)
	}
	if d := closedBy(t, c, br).Sub(last); d < idleTimeout {
		t.Errorf("closed %v after the last answer, before the idle timeout %v", d, idleTimeout)
	}
}

// TestEdgeTimesOutStalledAnswers checks that an answer the client stops
// reading is cut off once a write has waited for the write timeout, and
// that one the client reads slowly but steadily, for longer in all than
// the write timeout, arrives whole.
func TestEdgeTimesOutStalledAnswers(t *testing.T) {
	addr := timeoutEdge(t)

	c := dial(t, addr)
	br := bufio.NewReader(c)
	resp := request(t, c, br, "/big")
	time.Sleep(3 * writeTimeout) // not reading
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil || n >= bigBody {
		t.Errorf("a stalled answer: read %d of %d bytes, %v; want it cut off", n, bigBody, err)
	}

	c = dial(t, addr)
	br = bufio.NewReader(c)
	resp = request(t, c, br, "/big")
	start := time.Now()
	var got int64
	for i := 0; i < 10_000 && got < bigBody; i++ {
		m, err := io.CopyN(io.Discard, resp.Body, 8<<20)
		got += m
		if err != nil {
			break
		}
		time.Sleep(writeTimeout / 5)
	}
	if got != bigBody {
		t.Errorf("a slow steady reader got %d of %d bytes", got, bigBody)
	}
	if d := time.Since(start); d < writeTimeout {
		t.Errorf("the slow reader took %v, less than the write timeout %v: the test proves nothing", d, writeTimeout)
	}
}
