package probe

// HTTP/1.1 pipelining of HEAD requests, by hand: net/http's client sends a
// request on a connection only after the previous response was read, so
// over a 50 ms link it manages 20 requests a second per connection.
// Pipelining (RFC 9112, section 9.3.2) lets a client send several requests
// before the first response arrives; the server answers them in order.
//
// Each connection has a writer goroutine, which takes paths from the pass
// and writes up to Config.Pipeline HEAD requests ahead, and a reader, which
// reads the responses in the order the requests were written, each within
// HeaderTimeout. When the server ends the connection (Connection: close, or
// a close or reset after some answers) the requests it did not answer go
// back to the pass for another connection; when a connection fails before
// any answer (a timeout, a reset) they go back once. The breaker in pass.go
// stops a pass whose replacement connections fail as well.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Bounds on the answers of a pipelining server.
const (
	ioBufSize      = 16 << 10
	maxInterim     = 8 // 1xx answers before the final one
	maxDialBackoff = time.Second
)

// errServerClosed ends a connection the server marked Connection: close.
var errServerClosed = errors.New("server closed the connection")

// sent is a request written, or about to be, on a connection.
type sent struct {
	i   int
	req *http.Request
}

// statPipelined answers the paths queued in ps over pipelined HTTP/1.1
// connections.
func (p *httpProber) statPipelined(ctx context.Context, ps *pass) {
	follow := newRedirector(p, ps)
	workers := min(p.cfg.Conns, (len(ps.queue)+p.cfg.Pipeline-1)/p.cfg.Pipeline)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() { p.pipeWorker(ctx, ps, follow) })
	}
	wg.Wait()
	follow.wait()
}

// pipeWorker runs one connection after another until the pass is over. A
// server that ended a connection after n answers (it closed, reset, or
// stopped answering) gets at most n requests ahead on the next one: some
// servers answer only the first of several pipelined requests.
func (p *httpProber) pipeWorker(ctx context.Context, ps *pass, follow *redirector) {
	b := ps.breaker()
	depth := p.cfg.Pipeline
	for fails := 0; ; {
		i, ok := ps.next(ctx)
		if !ok {
			return
		}
		conn, _, err := p.dial(ctx, []string{"http/1.1"})
		if err != nil {
			ps.retry(i, false, err)
			if b.failed(p.apErr(err)) {
				return
			}
			fails++
			sleepCtx(ctx, min(time.Duration(fails)*50*time.Millisecond, maxDialBackoff))
			continue
		}
		n, err := p.runConn(ctx, ps, conn, i, depth, follow)
		switch {
		case n > 0:
			b.ok()
			fails = 0
			if err != nil && n < depth {
				depth = n
			}
		case err != nil && b.failed(p.apErr(err)):
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// runConn pipelines HEAD requests on conn, starting with path first, until
// the pass is over or the connection ends. It returns how many responses it
// read and why the connection ended (nil if the pass ran out of paths). The
// paths it did not answer are back in the pass.
func (p *httpProber) runConn(ctx context.Context, ps *pass, conn net.Conn, first, depth int, follow *redirector) (int, error) {
	stop := make(chan struct{})
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	go func() { // a broken pass stops every connection at once
		select {
		case <-ps.brokenCh:
			conn.Close()
		case <-stop:
		}
	}()
	fifo := make(chan sent, depth-1)
	var wg sync.WaitGroup
	wg.Go(func() { p.writeRequests(ctx, ps, conn, first, fifo, stop) })
	n, closed, err := p.readResponses(ctx, ps, conn, fifo, follow)
	close(stop)
	conn.Close()
	for s := range fifo { // closed by the writer when it returns
		ps.retry(s.i, closed, err)
	}
	wg.Wait()
	return n, err
}

// writeRequests writes a HEAD request for first and then for each path it
// takes from the pass, flushing whenever it would wait: for a path, or for
// room in the pipeline. It closes fifo when it returns.
func (p *httpProber) writeRequests(ctx context.Context, ps *pass, conn net.Conn, first int, fifo chan<- sent, stop <-chan struct{}) {
	defer close(fifo)
	bw := bufio.NewWriterSize(conn, ioBufSize)
	flush := func() bool {
		conn.SetWriteDeadline(time.Now().Add(p.cfg.HeaderTimeout))
		return bw.Flush() == nil
	}
	for i, ok := first, true; ok; i, ok = p.nextPath(ctx, ps, flush, stop) {
		s := sent{i: i, req: p.headRequest(ctx, ps.paths[i])}
		select {
		case fifo <- s:
		default:
			if !flush() {
				ps.put(i)
				return
			}
			select {
			case fifo <- s:
			case <-stop:
				ps.put(i)
				return
			}
		}
		if s.req.Write(bw) != nil {
			return // the reader finds the connection broken
		}
	}
	flush()
}

// nextPath takes the next path from the pass, flushing the written
// requests first if it has to wait for one.
func (p *httpProber) nextPath(ctx context.Context, ps *pass, flush func() bool, stop <-chan struct{}) (int, bool) {
	select {
	case i := <-ps.queue:
		return i, true
	default:
	}
	if !flush() {
		return 0, false
	}
	select {
	case i := <-ps.queue:
		return i, true
	case <-stop:
	case <-ps.done:
	case <-ps.brokenCh:
	case <-ctx.Done():
	}
	return 0, false
}

// headRequest is the HEAD request for an object path.
func (p *httpProber) headRequest(ctx context.Context, path string) *http.Request {
	u := p.objectURL(path)
	return (&http.Request{
		Method:     http.MethodHead,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     p.hdr,
		Host:       u.Host,
	}).WithContext(ctx)
}

// readResponses reads the responses to the requests in fifo, in order. It
// returns how many it read, whether the server ended the connection after
// answering some (so the rest may be retried freely), and the error that
// ended it (nil when fifo was closed with every request answered).
func (p *httpProber) readResponses(ctx context.Context, ps *pass, conn net.Conn, fifo <-chan sent, follow *redirector) (int, bool, error) {
	br := bufio.NewReaderSize(conn, ioBufSize)
	n := 0
	for s := range fifo {
		conn.SetReadDeadline(time.Now().Add(p.cfg.HeaderTimeout))
		resp, err := readResponse(br, s.req)
		if err != nil {
			closed, err := p.connFailed(ps, s, n, err)
			return n, closed, err
		}
		n++
		p.handle(ctx, ps, s, resp, follow)
		if resp.Close {
			return n, true, errServerClosed
		}
	}
	return n, false, nil
}

// connFailed disposes of the path whose response could not be read: a
// malformed response fails it; otherwise it goes back to the pass. It
// returns whether the failure counts as the server ending the connection
// after n answers, and the error that ended the connection.
func (p *httpProber) connFailed(ps *pass, s sent, n int, err error) (bool, error) {
	if isNetError(err) {
		closed := n > 0 && classOf(err) != ErrTimeout
		ps.retry(s.i, closed, err)
		return closed, err
	}
	err = fmt.Errorf("%w: %w", ErrProtocol, err)
	st := Stat{Size: -1, Err: fmt.Errorf("HEAD %s: %w", s.req.URL, err)}
	if n > 0 {
		ps.answer(s.i, st)
	} else {
		ps.finish(s.i, st) // not an answer: the breaker may trip
	}
	return n > 0, err
}

// isNetError tells a failure of the connection from a malformed response.
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}

// readResponse reads the final response to req, skipping interim (1xx)
// ones. A HEAD response has no body, so nothing else is read.
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for range maxInterim {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
	return nil, fmt.Errorf("more than %d interim responses", maxInterim)
}

// handle reports the answer for s, or hands a redirect to follow.
func (p *httpProber) handle(ctx context.Context, ps *pass, s sent, resp *http.Response, follow *redirector) {
	u := s.req.URL.String()
	if isRedirect(resp.StatusCode) {
		loc, err := resp.Location()
		if err == nil {
			follow.start(ctx, s.i, u, loc)
			return
		}
		ps.answer(s.i, Stat{Size: -1, Err: fmt.Errorf("HEAD %s: %d without a valid Location: %w", u, resp.StatusCode, ErrProtocol)})
		return
	}
	ps.answer(s.i, statOf(u, resp))
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// A redirector follows the redirects a pipelined pass meets with plain
// requests, at most Config.Conns at a time.
type redirector struct {
	p   *httpProber
	ps  *pass
	sem chan struct{}
	wg  sync.WaitGroup
}

func newRedirector(p *httpProber, ps *pass) *redirector {
	return &redirector{p: p, ps: ps, sem: make(chan struct{}, p.cfg.Conns)}
}

// start follows the redirect of path i, at u, to loc and reports where it
// ends.
func (r *redirector) start(ctx context.Context, i int, u string, loc *url.URL) {
	r.sem <- struct{}{}
	r.wg.Go(func() {
		defer func() { <-r.sem }()
		r.ps.answer(i, r.p.headFollow(ctx, u, loc))
	})
}

func (r *redirector) wait() { r.wg.Wait() }

// headFollow sends a HEAD to loc, where u redirected, following the rest
// of the chain within MaxRedirects. Errors name u.
func (p *httpProber) headFollow(ctx context.Context, u string, loc *url.URL) Stat {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout+p.cfg.HeaderTimeout)
	defer cancel()
	req, err := p.newRequest(ctx, http.MethodHead, loc.String())
	if err != nil {
		return Stat{Size: -1, Err: fmt.Errorf("HEAD %s: redirect to %s: %w: %w", u, loc, ErrProtocol, err)}
	}
	c := *p.plain
	c.CheckRedirect = p.checkRedirect(1)
	resp, err := c.Do(req)
	if err != nil {
		return Stat{Size: -1, Err: fmt.Errorf("HEAD %s: %w", u, classify(err))}
	}
	resp.Body.Close()
	return statOf(resp.Request.URL.String(), resp)
}
