package upstream

// Files over pipelined HTTP/1.1. A mirror sync asks for tens of thousands of
// small files; what bounds it is the work each request costs both ends, and
// over a long link the round trips. HTTP/1.1 pipelining (RFC 9112, section
// 9.3.2) answers both: a connection carries many GETs before the first
// answer arrives, the server answers them in order on one connection
// goroutine and sends each file with sendfile(2), and the client parses a
// response with no goroutine, stream or frame of its own. Against
// pando serve this costs about half the CPU per file of HTTP/2.
//
// Each connection has a writer, which takes requests from the pipeline's
// queue and writes up to depth of them ahead, flushing whenever it would
// wait, and a reader, which reads the answers in the order the requests
// were written and hands each to the caller waiting for it. The next answer
// is read only once the caller has read or closed the body before it. When
// a connection ends (the server closed it, an error, Connection: close), the
// requests it did not answer are sent again on another; a server that ends
// connections after n answers with more asked gets at most n in flight from
// then on, down to one (plain keep-alive).

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	pipelineDepth = 32       // requests in flight per connection, at most
	pipeIOBuf     = 64 << 10 // read and write buffer of a connection
	drainLimit    = 64 << 10 // a body closed early with at most this left is read off
	maxInterim    = 8        // 1xx answers before the final one
	maxSends      = 3        // connections that end answering nothing before a request's error stands
	maxRequeues   = 1000     // times a request may lose its place to a connection that answered others
)

// errUnanswered means a connection ended before the answer to a request:
// the request may be sent again.
var errUnanswered = errors.New("connection ended before the answer")

// An unansweredError is errUnanswered for one request, saying whether its
// connection answered others first: a request that lost its place to a
// connection that was making progress is not failing, only waiting.
type unansweredError struct {
	progress bool
	cause    error
}

func (e *unansweredError) Error() string        { return fmt.Sprintf("%v: %v", errUnanswered, e.cause) }
func (e *unansweredError) Is(target error) bool { return target == errUnanswered }

func unanswered(progress bool, cause error) answer {
	return answer{err: &unansweredError{progress: progress, cause: cause}}
}

// A pipeline sends GET requests to one server over at most conns
// connections.
type pipeline struct {
	c     *Client
	conns int
	queue chan *call
	done  chan struct{} // closed by close

	mu    sync.Mutex
	live  int // connections running
	depth int // requests in flight per connection
}

func newPipeline(c *Client) *pipeline {
	return &pipeline{c: c, conns: c.cfg.Conns, queue: make(chan *call, 4096), done: make(chan struct{}), depth: pipelineDepth}
}

// close ends every connection; requests still waiting fail.
func (p *pipeline) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

var errClosed = errors.New("client closed")

// A call is one request and the caller waiting for its answer.
type call struct {
	ctx    context.Context
	target string // the request target: an escaped path
	offset int64

	mu        sync.Mutex
	res       chan answer // holds at most one
	abandoned bool        // the caller stopped waiting
}

type answer struct {
	resp *http.Response
	body *pipeBody
	err  error
}

// deliver hands a to the caller, or, if it stopped waiting, closes its body.
func (cl *call) deliver(a answer) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.abandoned {
		if a.body != nil {
			a.body.Close()
		}
		return
	}
	cl.res <- a
}

// abandon tells the connection nobody waits for the answer any more.
func (cl *call) abandon() {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.abandoned = true
	select {
	case a := <-cl.res:
		if a.body != nil {
			a.body.Close()
		}
	default:
	}
}

// get sends a GET for target (with a Range from offset when it is not 0)
// and returns the response, whose body must be read to its end or closed.
func (p *pipeline) get(ctx context.Context, target string, offset int64) (*http.Response, *pipeBody, error) {
	var err error
	for fails, requeues := 0, 0; fails < maxSends && requeues < maxRequeues; {
		cl := &call{ctx: ctx, target: target, offset: offset, res: make(chan answer, 1)}
		if err := p.submit(cl); err != nil {
			return nil, nil, err
		}
		select {
		case a := <-cl.res:
			var ue *unansweredError
			if !errors.As(a.err, &ue) {
				return a.resp, a.body, a.err
			}
			if ue.progress {
				requeues++
			} else {
				fails++
			}
			err = a.err
		case <-ctx.Done():
			cl.abandon()
			return nil, nil, ctx.Err()
		case <-p.done:
			cl.abandon()
			return nil, nil, errClosed
		}
	}
	return nil, nil, err
}

// submit queues cl, then starts a connection when none runs or the queue
// backs up and there is room for one more. The check comes after the send:
// a connection that ends between the two sees the request in the queue
// (ended starts another), or this check sees it gone.
func (p *pipeline) submit(cl *call) error {
	select {
	case <-p.done:
		return errClosed
	default:
	}
	select {
	case p.queue <- cl:
	case <-cl.ctx.Done():
		return cl.ctx.Err()
	case <-p.done:
		return errClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live < p.conns && (p.live == 0 || len(p.queue) > 1) {
		select {
		case <-p.done:
		default:
			p.live++
			go p.runConn()
		}
	}
	return nil
}

// ended records that a connection ended after answering n requests, with
// unanswered still waiting on it, and starts another if requests wait
// for one and none runs.
func (p *pipeline) ended(n int, unanswered bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live--
	if unanswered && n > 0 && n < p.depth {
		p.depth = n
	}
	if p.live == 0 && len(p.queue) > 0 {
		select {
		case <-p.done:
		default:
			p.live++
			go p.runConn()
		}
	}
}

func (p *pipeline) currentDepth() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.depth
}

// runConn runs one connection until it ends.
func (p *pipeline) runConn() {
	conn, err := p.dial()
	if err != nil {
		// Fail a request with the reason, and when no other connection
		// runs, every request waiting: a server that is down fails its
		// callers at once rather than one dial each.
		fail := answer{err: fmt.Errorf("%s: %w", p.c.Base.Host, err)}
		select {
		case cl := <-p.queue:
			cl.deliver(fail)
		case <-p.done:
		case <-time.After(p.c.cfg.ConnectTimeout):
		}
		p.mu.Lock()
		alone := p.live == 1
		p.mu.Unlock()
		for drained := !alone; !drained; {
			select {
			case cl := <-p.queue:
				cl.deliver(fail)
			default:
				drained = true
			}
		}
		p.ended(0, false)
		return
	}
	pc := &pipeConn{p: p, conn: conn, br: bufio.NewReaderSize(conn, pipeIOBuf), dead: make(chan struct{})}
	n, unanswered := pc.run(p.currentDepth())
	p.ended(n, unanswered)
}

func (p *pipeline) dial() (net.Conn, error) {
	cfg := p.c.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeout)
	defer cancel()
	go func() { // closing the pipeline stops a dial
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	d := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	addr := hostPort(p.c.Base.Host, p.c.Base.Scheme)
	if p.c.Base.Scheme != "https" {
		return d.DialContext(ctx, "tcp", addr)
	}
	tc := &tls.Config{}
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = p.c.Base.Hostname()
	}
	tc.NextProtos = []string{"http/1.1"}
	td := &tls.Dialer{NetDialer: d, Config: tc}
	return td.DialContext(ctx, "tcp", addr)
}

// hostPort returns host with the scheme's default port when it has none.
func hostPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' { // a bare IPv6 literal
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, port)
}

// A pipeConn is one connection of a pipeline.
type pipeConn struct {
	p    *pipeline
	conn net.Conn
	br   *bufio.Reader
	dead chan struct{} // closed when the connection ends
	once sync.Once
	// answered counts the answers read, for the writer's view of whether
	// the connection made progress.
	answered atomic.Int64
}

func (pc *pipeConn) kill() {
	pc.once.Do(func() {
		close(pc.dead)
		pc.conn.Close()
	})
}

// run writes and reads until the connection ends, and returns how many
// requests it answered and whether requests were left unanswered.
func (pc *pipeConn) run(depth int) (int, bool) {
	inflight := make(chan *call, depth)
	var wg sync.WaitGroup
	wg.Go(func() { pc.write(inflight) })
	n, err := pc.read(inflight)
	pc.kill()
	wg.Wait() // the writer has closed inflight
	left := false
	for cl := range inflight {
		left = true
		cl.deliver(unanswered(n > 0, err))
	}
	return n, left
}

// write takes requests from the queue and writes them, up to cap(inflight)
// ahead of the answers, flushing whenever it would wait. It closes inflight
// when it returns.
func (pc *pipeConn) write(inflight chan<- *call) {
	defer close(inflight)
	bw := bufio.NewWriterSize(pc.conn, pipeIOBuf)
	flush := func() bool {
		if bw.Buffered() == 0 {
			return true
		}
		pc.conn.SetWriteDeadline(time.Now().Add(pc.p.c.cfg.HeaderTimeout))
		if bw.Flush() != nil {
			pc.kill()
			return false
		}
		return true
	}
	var buf []byte
	for {
		var cl *call
		select {
		case cl = <-pc.p.queue:
		default:
			if bw.Buffered() > 0 {
				// Let the callers that are about to ask run first, so
				// that one write carries their requests too.
				runtime.Gosched()
				select {
				case cl = <-pc.p.queue:
				default:
				}
			}
		}
		if cl == nil {
			if !flush() {
				return
			}
			select {
			case cl = <-pc.p.queue:
			case <-pc.dead:
				return
			case <-pc.p.done:
				pc.kill()
				return
			}
		}
		if cl.ctx.Err() != nil {
			cl.deliver(answer{err: cl.ctx.Err()})
			continue
		}
		buf = pc.p.c.appendRequest(buf[:0], cl.target, cl.offset)
		bw.Write(buf) // an error shows at the flush
		select {
		case inflight <- cl:
			continue
		default:
		}
		if !flush() {
			cl.deliver(unanswered(pc.answered.Load() > 0, errServerClosed))
			return
		}
		select {
		case inflight <- cl:
		case <-pc.dead:
			cl.deliver(unanswered(pc.answered.Load() > 0, errServerClosed))
			return
		}
	}
}

// appendRequest appends the bytes of a GET for target to b.
func (c *Client) appendRequest(b []byte, target string, offset int64) []byte {
	b = append(b, "GET "...)
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.Base.Host...)
	b = append(b, "\r\nUser-Agent: "...)
	b = append(b, c.cfg.UserAgent...)
	if offset > 0 {
		b = append(b, "\r\nRange: bytes="...)
		b = strconv.AppendInt(b, offset, 10)
		b = append(b, '-')
	}
	return append(b, "\r\n\r\n"...)
}

var getRequest = &http.Request{Method: http.MethodGet}

// read reads the answers to the requests in inflight, in order, each once
// the body before it is done, until the connection ends. It returns how
// many it read and why it stopped.
func (pc *pipeConn) read(inflight <-chan *call) (int, error) {
	cfg := pc.p.c.cfg
	n := 0
	for cl := range inflight {
		pc.conn.SetReadDeadline(time.Now().Add(cfg.HeaderTimeout))
		resp, err := pc.readResponse()
		if err != nil {
			if n == 0 && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				// Nothing came back: no use sending it again on another.
				cl.deliver(answer{err: fmt.Errorf("%s: %w", pc.p.c.Base.Host, err)})
				return n, err
			}
			cl.deliver(unanswered(n > 0, err))
			return n, err
		}
		n++
		pc.answered.Store(int64(n))
		body := newPipeBody(pc, cl.ctx, resp)
		resp.Body = body
		cl.deliver(answer{resp: resp, body: body})
		select {
		case reuse := <-body.finished:
			if !reuse || resp.Close {
				return n, errServerClosed
			}
		case <-pc.dead:
			return n, errServerClosed
		}
	}
	return n, nil
}

var errServerClosed = errors.New("connection closed")

// readResponse reads the next final answer, skipping interim ones.
func (pc *pipeConn) readResponse() (*http.Response, error) {
	for range maxInterim {
		resp, err := http.ReadResponse(pc.br, getRequest)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
	return nil, fmt.Errorf("more than %d interim answers", maxInterim)
}

// A pipeBody is the body of a pipelined answer. Its connection reads the
// next answer only once the body has been read to its end or closed; a body
// closed early is read off when little of it is left, and otherwise ends
// the connection.
type pipeBody struct {
	pc       *pipeConn
	r        io.Reader
	left     int64 // -1: unknown
	idle     time.Duration
	stop     func() bool // stops the context's watch
	finished chan bool   // true: the connection may go on
	once     sync.Once
	eof      bool
}

func newPipeBody(pc *pipeConn, ctx context.Context, resp *http.Response) *pipeBody {
	b := &pipeBody{pc: pc, r: resp.Body, left: resp.ContentLength, idle: pc.p.c.cfg.IdleTimeout, finished: make(chan bool, 1)}
	b.stop = context.AfterFunc(ctx, pc.kill)
	return b
}

func (b *pipeBody) finish(reuse bool) {
	b.once.Do(func() {
		b.stop()
		b.finished <- reuse
	})
}

func (b *pipeBody) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	b.pc.conn.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.r.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	switch {
	case errors.Is(err, io.EOF):
		b.eof = true
		b.finish(true)
	case err != nil:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = fmt.Errorf("no data for %v: %w", b.idle, err)
		}
		b.finish(false)
	}
	return n, err
}

// Close ends the body; the connection goes on if the rest was read off.
func (b *pipeBody) Close() error {
	if b.eof {
		return nil
	}
	reuse := false
	if b.left >= 0 && b.left <= drainLimit {
		b.pc.conn.SetReadDeadline(time.Now().Add(b.idle))
		_, err := io.Copy(io.Discard, b.r)
		reuse = err == nil
	}
	b.eof = true
	b.finish(reuse)
	return nil
}
