package probe

// The http and https prober.
//
// Stat sends one HEAD request per path. A mirror is usually far away and
// holds tens of thousands of objects, so one request at a time costs a round
// trip each: 75,000 objects at 50 ms is an hour. Stat therefore keeps many
// requests in flight:
//
//   - over HTTP/2 (ALPN "h2" on https, or h2c prior knowledge on http, tried
//     once with a HEAD of the first path) it sends Config.Streams concurrent
//     HEADs through a standard http.Client;
//   - over HTTP/1.1 it pipelines: on each of up to Config.Conns keep-alive
//     connections a writer sends up to Config.Pipeline requests ahead while
//     a reader takes the responses in order (pipeline.go). This is written
//     by hand because net/http's client never pipelines: it waits for each
//     response before reusing a connection.
//
// Open and Get use a standard http.Client (HTTP/2 over TLS when offered).

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// mode is how Stat talks to an access point, learnt on the first Stat.
type mode int

const (
	modeUnknown  mode = iota
	modePipeline      // HTTP/1.1 pipelining, hand-written
	modeH2            // HTTP/2 over TLS
	modeH2C           // HTTP/2 with prior knowledge over cleartext
)

type httpProber struct {
	base  *url.URL
	cfg   Config
	tls   *tls.Config // https only
	hdr   http.Header // sent with every request; read-only
	plain *http.Client
	h2c   *http.Client // http only

	mu   sync.Mutex
	mode mode
}

// httpsProber is an httpProber that can also report its certificate.
type httpsProber struct{ *httpProber }

func newHTTP(base *url.URL, cfg Config) *httpProber {
	p := &httpProber{
		base: base,
		cfg:  cfg,
		hdr:  http.Header{"User-Agent": {cfg.UserAgent}},
	}
	if base.Scheme == "https" {
		p.tls = &tls.Config{RootCAs: cfg.RootCAs, ServerName: base.Hostname(), MinVersion: tls.VersionTLS12}
	}
	p.plain = p.newClient(false)
	if base.Scheme == "http" {
		p.h2c = p.newClient(true)
	}
	return p
}

// newClient returns a client for plain requests: HTTP/1.1 (and HTTP/2 over
// TLS), or with h2c HTTP/2 with prior knowledge only. It follows at most
// MaxRedirects redirects and never uses a proxy: the checker measures the
// mirror, not a proxy's cache.
func (p *httpProber) newClient(h2c bool) *http.Client {
	d := &net.Dialer{Timeout: p.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       p.tls,
		TLSHandshakeTimeout:   p.cfg.ConnectTimeout,
		ResponseHeaderTimeout: p.cfg.HeaderTimeout,
		MaxIdleConnsPerHost:   p.cfg.Conns,
		MaxConnsPerHost:       p.cfg.Conns,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true, // sizes and hashes are of the bytes as published
	}
	if h2c {
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		t.Protocols = &protos
	}
	return &http.Client{Transport: t, CheckRedirect: p.checkRedirect(0)}
}

// errRedirects is the failure of a redirect chain that is too long.
var errRedirects = fmt.Errorf("%w: too many redirects", ErrProtocol)

// checkRedirect allows MaxRedirects redirects in all, given that already
// were followed before the client started.
func (p *httpProber) checkRedirect(already int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if already+len(via) > p.cfg.MaxRedirects {
			return fmt.Errorf("%w (more than %d, last to %s)", errRedirects, p.cfg.MaxRedirects, req.URL)
		}
		return nil
	}
}

func (p *httpProber) Kind() string { return p.base.Scheme }

// Close releases the prober's idle connections.
func (p *httpProber) Close() error {
	p.plain.CloseIdleConnections()
	if p.h2c != nil {
		p.h2c.CloseIdleConnections()
	}
	return nil
}

// objectURL is the URL of an object path under the base.
func (p *httpProber) objectURL(path string) *url.URL {
	u := *p.base
	u.Path = p.base.Path + path
	u.RawPath = p.base.EscapedPath() + escapePath(path)
	return &u
}

// hostPort is the address to dial.
func (p *httpProber) hostPort() string {
	if port := p.base.Port(); port != "" {
		return p.base.Host
	}
	if p.base.Scheme == "https" {
		return net.JoinHostPort(p.base.Hostname(), "443")
	}
	return net.JoinHostPort(p.base.Hostname(), "80")
}

// Stat reports the size of every path with HEAD requests, calling fn (never
// concurrently) exactly once per path unless ctx ends first. When no path
// could be answered because the access point as a whole failed, every path
// gets that failure and Stat returns it too, wrapping ErrUnreachable,
// ErrTimeout, ErrTLS or ErrProtocol.
func (p *httpProber) Stat(ctx context.Context, paths []string, fn func(Stat)) error {
	ps := newPass(paths, fn)
	ps.wrap = p.headErr
	ok := p.skipBadPaths(ps)
	if len(ok) == 0 {
		return nil
	}
	m, err := p.statMode(ctx, paths[ok[0]])
	if err != nil {
		err = p.apErr(err)
		ps.failAll(ok, err)
		return err
	}
	for _, i := range ok {
		ps.queue <- i
	}
	switch m {
	case modeH2:
		p.statStreams(ctx, p.plain, ps)
	case modeH2C:
		p.statStreams(ctx, p.h2c, ps)
	default:
		p.statPipelined(ctx, ps)
		if ps.answered.Load() > 0 {
			p.setMode(modePipeline)
		}
	}
	return ps.result(ctx)
}

// skipBadPaths fails the paths checkPath refuses and returns the others.
func (p *httpProber) skipBadPaths(ps *pass) []int {
	ok := make([]int, 0, len(ps.paths))
	for i, path := range ps.paths {
		if err := checkPath(path); err != nil {
			ps.fail(i, err)
			continue
		}
		ok = append(ok, i)
	}
	return ok
}

// headErr is the error of a HEAD of path i that got no usable answer.
func (p *httpProber) headErr(path string, err error) error {
	return fmt.Errorf("HEAD %s: %w", p.objectURL(path), classify(err))
}

// apErr is the error of the access point as a whole.
func (p *httpProber) apErr(err error) error {
	return fmt.Errorf("%s: %w", p.base, classify(err))
}

func (p *httpProber) setMode(m mode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
}

// statMode returns how Stat talks to the access point, finding out on the
// first call: over https by the protocol the TLS handshake negotiates, over
// http by trying h2c with a HEAD of path. An error means the access point
// could not be reached at all.
func (p *httpProber) statMode(ctx context.Context, path string) (mode, error) {
	p.mu.Lock()
	m := p.mode
	p.mu.Unlock()
	if m != modeUnknown {
		return m, nil
	}
	if p.base.Scheme == "https" {
		conn, proto, err := p.dial(ctx, []string{"h2", "http/1.1"})
		if err != nil {
			return modeUnknown, err
		}
		conn.Close()
		m = modePipeline
		if proto == "h2" {
			m = modeH2
		}
		p.setMode(m)
		return m, nil
	}
	if p.tryH2C(ctx, path) {
		p.setMode(modeH2C)
		return modeH2C, nil
	}
	return modePipeline, nil // remembered once a pipelined pass got answers
}

// tryH2C reports whether the server answers a HEAD of path over HTTP/2
// with prior knowledge.
func (p *httpProber) tryH2C(ctx context.Context, path string) bool {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout+p.cfg.HeaderTimeout)
	defer cancel()
	req, err := p.newRequest(ctx, http.MethodHead, p.objectURL(path).String())
	if err != nil {
		return false
	}
	resp, err := p.h2c.Do(req)
	if err != nil {
		p.h2c.CloseIdleConnections()
		return false
	}
	resp.Body.Close()
	return true
}

func (p *httpProber) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header = p.hdr.Clone()
	return req, nil
}

// dial opens a connection to the access point, with TLS for https offering
// protos by ALPN, and returns it with the protocol the server chose.
func (p *httpProber) dial(ctx context.Context, protos []string) (net.Conn, string, error) {
	d := net.Dialer{Timeout: p.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", p.hostPort())
	if err != nil {
		return nil, "", err
	}
	if p.tls == nil {
		return conn, "", nil
	}
	conf := p.tls.Clone()
	conf.NextProtos = protos
	tc := tls.Client(conn, conf)
	hctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, "", err
	}
	return tc, tc.ConnectionState().NegotiatedProtocol, nil
}

// statOf reads what a final (non-redirect) answer to a HEAD says.
func statOf(u string, resp *http.Response) Stat {
	if resp.StatusCode != http.StatusOK {
		return Stat{Size: -1, Err: &StatusError{URL: u, Status: resp.StatusCode}}
	}
	if resp.ContentLength < 0 {
		return Stat{Size: -1, Err: fmt.Errorf("HEAD %s: %w: no Content-Length", u, ErrProtocol)}
	}
	return Stat{Size: resp.ContentLength}
}

// Open starts reading a whole object. The body fails with ErrTimeout when
// no byte arrives for IdleTimeout, and with ErrProtocol when it ends before
// its Content-Length.
func (p *httpProber) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	u := p.objectURL(path).String()
	ctx, cancel := context.WithCancel(ctx)
	req, err := p.newRequest(ctx, http.MethodGet, u)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := p.getClient().Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("GET %s: %w", u, classify(err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, &StatusError{URL: u, Status: resp.StatusCode}
	}
	return newIdleReader(resp.Body, cancel, p.cfg.IdleTimeout, "GET "+u), nil
}

// getClient is the client for GET: the h2c one when the server speaks it.
func (p *httpProber) getClient() *http.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == modeH2C {
		return p.h2c
	}
	return p.plain
}

// Get reads a whole object of at most limit bytes; a larger one fails with
// ErrProtocol.
func (p *httpProber) Get(ctx context.Context, path string, limit int64) ([]byte, error) {
	body, err := p.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, tooBig, err := readLimited(body, limit)
	if tooBig {
		return nil, fmt.Errorf("GET %s: %w: larger than %d bytes", p.objectURL(path), ErrProtocol, limit)
	}
	return data, err // a body error names the object

}

// readLimited reads all of r. tooBig reports more than limit bytes.
func readLimited(r io.Reader, limit int64) (data []byte, tooBig bool, err error) {
	limit = max(limit, 0)
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) > limit {
		return nil, true, nil
	}
	return data, false, nil
}
