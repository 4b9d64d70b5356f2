package edge

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pando-mirror/pando/internal/serve"
)

// listener is the edge's listener. Its Accept waits and tries again after
// a temporary error, as net/http's server does: fasthttp's ends Serve on
// any error but a timeout, and running out of file descriptors under a
// flood of connections (EMFILE) must not end the edge. It keeps the
// connections it accepted until they are closed, for closeConns. And its
// connections keep the server's timeouts themselves (see conn).
type listener struct {
	net.Listener
	log      *slog.Logger
	timeouts timeouts

	mu   sync.Mutex
	open map[*conn]struct{}
}

func newListener(ln net.Listener, log *slog.Logger, t timeouts) *listener {
	t.base = time.Now()
	return &listener{Listener: ln, log: log, timeouts: t, open: map[*conn]struct{}{}}
}

// Bounds of the wait after a temporary Accept error, doubled each time.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

func (l *listener) Accept() (net.Conn, error) {
	wait := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		var te interface{ Temporary() bool }
		switch {
		case err == nil:
			return l.track(c), nil
		case !errors.As(err, &te) || !te.Temporary():
			return nil, err
		}
		wait = min(max(2*wait, acceptRetryMin), acceptRetryMax)
		l.log.Warn("accepting a connection failed; retrying", "err", err, "in", wait)
		time.Sleep(wait)
	}
}

func (l *listener) track(nc net.Conn) *conn {
	// The first request is due within the read timeout of the accept.
	c := &conn{Conn: nc, ln: l, inRequest: true, requestStart: l.timeouts.now()}
	l.mu.Lock()
	l.open[c] = struct{}{}
	l.mu.Unlock()
	return c
}

// closeConns closes every connection accepted and not yet closed.
func (l *listener) closeConns() {
	l.mu.Lock()
	open := l.open
	l.open = map[*conn]struct{}{}
	l.mu.Unlock()
	for c := range open {
		c.Conn.Close()
	}
}

// timeouts are the limits an edge's connections keep.
type timeouts struct {
	read  time.Duration // a whole request, from its first byte (the first request: from the accept)
	idle  time.Duration // the wait for the next request on a kept-alive connection
	write time.Duration // each write of an answer
	base  time.Time     // the clock's zero: times are durations since, on the monotonic clock
}

// now reads the monotonic clock alone, which costs half of time.Now.
func (t *timeouts) now() time.Duration { return time.Since(t.base) }

// slack is how late a sliding deadline may fire: an eighth of its
// timeout, at most a second.
func slack(d time.Duration) time.Duration { return min(d/8, time.Second) }

// A conn is an accepted connection. It leaves its listener's set when it
// is closed, and it keeps the server's timeouts (fasthttp's own are off).
//
// fasthttp keeps them by setting the socket's deadlines before every
// request and every answer, three times a keep-alive request, and each
// time the runtime moves a timer (about 4% of an edge's CPU time under
// load). A conn sets a deadline only when the one in place no longer
// serves: the deadlines that slide with each request (the idle wait, each
// write) are set a little later than asked, by their slack, and left in
// place while they are no more than that later than the latest asked. So
// a timeout never fires early, and late by its slack at most; a busy
// connection sets each deadline about once per slack instead of once per
// request.
//
// The phases of a connection are told by fasthttp's ConnState hook
// (connState): a request begins when its first byte is seen, whether read
// from the socket or found in the buffer behind a pipelined one
// (StateActive), and the wait for the next begins once it is answered
// (StateIdle); the first request begins at the accept. Read, Write and
// the hook are called from the one goroutine that serves the connection;
// the edge hijacks a connection only to close it.
type conn struct {
	net.Conn
	ln *listener // and its timeouts

	inRequest    bool          // a request is being read: its deadline is fixed
	answered     bool          // a request has been answered (the first is due from the accept)
	requestStart time.Duration // when the request being read began
	readBy       time.Duration // the read deadline in place; 0: none
	writeBy      time.Duration // the write deadline in place; 0: none
}

// connState is the edge server's ConnState hook: it moves a connection
// from one phase to the next.
func connState(nc net.Conn, state fasthttp.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	switch state {
	case fasthttp.StateActive:
		if c.answered { // the first request keeps its deadline from the accept
			c.inRequest, c.requestStart = true, c.ln.timeouts.now()
		}
	case fasthttp.StateIdle:
		c.inRequest, c.answered = false, true
	}
}

func (c *conn) Read(b []byte) (int, error) {
	t := &c.ln.timeouts
	var err error
	if c.inRequest {
		err = t.keep(&c.readBy, c.requestStart+t.read, 0, c.Conn.SetReadDeadline)
	} else {
		err = t.keep(&c.readBy, t.now()+t.idle, slack(t.idle), c.Conn.SetReadDeadline)
	}
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// keep makes the deadline in place, *by, at least want and at most
// want+late, setting want+late with set when it is not.
func (t *timeouts) keep(by *time.Duration, want, late time.Duration, set func(time.Time) error) error {
	if *by >= want && *by <= want+late {
		return nil
	}
	if err := set(t.base.Add(want + late)); err != nil {
		return err
	}
	*by = want + late
	return nil
}

// Write gives each serve.ProgressChunk of an answer the write timeout,
// as package serve's server does: a slow answer that keeps moving is not
// cut off, one that stalls is.
func (c *conn) Write(b []byte) (int, error) {
	t := &c.ln.timeouts
	var n int
	for len(b) > 0 {
		if err := t.keep(&c.writeBy, t.now()+t.write, slack(t.write), c.Conn.SetWriteDeadline); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(b[:min(len(b), serve.ProgressChunk)])
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

// SetDeadline, SetReadDeadline and SetWriteDeadline set a deadline for
// whoever else sets one (fasthttp clears them on a hijack), keeping what
// Read and Write take to be in place true.
func (c *conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetDeadline(t); err != nil {
		return err
	}
	c.readBy, c.writeBy = c.since(t), c.since(t)
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	c.readBy = c.since(t)
	return nil
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	c.writeBy = c.since(t)
	return nil
}

// since returns deadline t on the connection's clock, 0 for none.
func (c *conn) since(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return max(t.Sub(c.ln.timeouts.base), 1)
}

func (c *conn) Close() error {
	c.ln.mu.Lock()
	delete(c.ln.open, c)
	c.ln.mu.Unlock()
	return c.Conn.Close()
}
