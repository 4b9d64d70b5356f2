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
	idleTimeout  = 1500 * time.Millisecond
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
// accept has passed: not before, and not after the (longer) idle timeout.
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
	if d := time.Since(start); d < readTimeout || d >= idleTimeout {
		t.Errorf("answered after %v; want the read timeout %v, under the idle timeout %v", d, readTimeout, idleTimeout)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("status %d, close %v; want 408 and the connection closed", resp.StatusCode, resp.Close)
	}
	closedBy(t, c, br)
}

// TestEdgeRefusesSlowRequests checks that a request that trickles in
// (slowloris: its header, or its body, with or without a 100 Continue)
// is answered 408 once the read timeout from its first byte has passed,
// not before and not after the (longer) idle timeout: on a new
// connection, on a kept-alive one, and behind a pipelined request; and
// that a request sent in pieces within the timeout is answered.
func TestEdgeRefusesSlowRequests(t *testing.T) {
	addr := timeoutEdge(t)
	const slowHeader = "GET /b HTTP/1.1\r\nHost: e\r\n"
	const slowBody = "POST /b HTTP/1.1\r\nHost: e\r\nContent-Length: 60000\r\n\r\n"
	for _, tc := range []struct {
		name      string
		keptAlive bool   // after an answered request and a wait
		before    string // a whole request sent with the slow one's start, answered 204
		start     string // the slow request's start; then a line every 50 ms
		continued bool   // the server answers 100 Continue first
	}{
		{name: "new connection", start: slowHeader},
		{name: "kept alive", keptAlive: true, start: slowHeader},
		{name: "pipelined", before: "GET /a HTTP/1.1\r\nHost: e\r\n\r\n", start: slowHeader},
		{name: "body", start: slowBody},
		{name: "body after 100 Continue", keptAlive: true, continued: true,
			start: "POST /b HTTP/1.1\r\nHost: e\r\nExpect: 100-continue\r\nContent-Length: 60000\r\n\r\n"},
	} {
		c := dial(t, addr)
		br := bufio.NewReader(c)
		if tc.keptAlive {
			request(t, c, br, "/").Body.Close()
			time.Sleep(idleTimeout / 2) // a wait that the idle timeout allows
			// In time, in three pieces.
			for _, piece := range []string{"GET /a HTTP/1.1\r\n", "Host: e\r\n", "\r\n"} {
				if _, err := io.WriteString(c, piece); err != nil {
					t.Fatal(err)
				}
				time.Sleep(readTimeout / 8)
			}
			if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusNoContent {
				t.Fatalf("%s: a request sent in pieces in time: %v, %v", tc.name, resp, err)
			}
		}
		start := time.Now()
		trickled := make(chan struct{})
		go func() {
			defer close(trickled)
			if _, err := io.WriteString(c, tc.before+tc.start); err != nil {
				return
			}
			for i := range 200 { // 10 s at most
				time.Sleep(50 * time.Millisecond)
				if _, err := fmt.Fprintf(c, "X-Slow-%d: yes\r\n", i); err != nil {
					return
				}
			}
		}()
		want := []int{http.StatusRequestTimeout}
		if tc.before != "" {
			want = append([]int{http.StatusNoContent}, want...)
		}
		if tc.continued {
			want = append([]int{http.StatusContinue}, want...)
		}
		for _, status := range want {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != status {
				t.Fatalf("%s: status %d, want %d", tc.name, resp.StatusCode, status)
			}
		}
		if d := time.Since(start); d < readTimeout || d >= idleTimeout {
			t.Errorf("%s: refused after %v; want the read timeout %v, under the idle timeout %v", tc.name, d, readTimeout, idleTimeout)
		}
		c.Close()
		<-trickled
	}
}

// TestEdgeClosesIdleConnections checks that a kept-alive connection whose
// requests come closer together than the idle timeout stays open for
// longer than it, and that it is closed once it has idled for the idle
// timeout: not before, and not long after.
func TestEdgeClosesIdleConnections(t *testing.T) {
	addr := timeoutEdge(t)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	start := time.Now()
	var last time.Time
	for time.Since(start) < 2*idleTimeout {
		last = time.Now() // the server's wait begins after this
		request(t, c, br, "/").Body.Close()
		time.Sleep(idleTimeout / 4)
	}
	if d := closedBy(t, c, br).Sub(last); d < idleTimeout || d > 3*idleTimeout {
		t.Errorf("closed %v after the last request; want the idle timeout %v", d, idleTimeout)
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
