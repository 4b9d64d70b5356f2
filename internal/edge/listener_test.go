package edge

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestListenerForgetsClosedConnections checks that every connection
// fasthttp's server is done with, whether the client closed it, asked for
// it to close or sent something unreadable, leaves the listener's set, so
// that a long-running edge does not keep every connection it ever had.
func TestListenerForgetsClosedConnections(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newListener(raw, slog.New(slog.DiscardHandler), timeouts{read: 5 * time.Second, idle: 5 * time.Second, write: 5 * time.Second})
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(http.StatusNoContent) }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	defer func() {
		srv.Shutdown()
		<-done
	}()
	requests := []string{
		"GET / HTTP/1.1\r\nHost: e\r\n\r\n",                      // the client closes
		"GET / HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n", // the server closes
		"NOT HTTP\r\n\r\n",                                       // refused
	}
	for i := range 30 {
		c, err := net.DialTimeout("tcp", raw.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(c, requests[i%len(requests)])
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		n := len(l.open)
		l.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 30 closed connections are still in the listener's set", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnKnowsDeadlinesSetByOthers checks that a deadline cleared by
// someone else (fasthttp clears them on a hijack) is set again by the
// next write, which a stale record of the one in place would skip: the
// write to a peer that reads nothing must time out.
func TestConnKnowsDeadlinesSetByOthers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	l := newListener(nil, slog.New(slog.DiscardHandler), timeouts{read: time.Second, idle: time.Second, write: 200 * time.Millisecond})
	c := &conn{Conn: a, ln: l}
	go b.Read(make([]byte, 1)) // takes the first write only
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("y"))
		done <- err
	}()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("write to a peer that reads nothing: %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write to a peer that reads nothing did not time out within 10s")
	}
}
