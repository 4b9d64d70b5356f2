package edge_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/certtest"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/edge"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/geo/geotest"
	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/internal/serve"
)

// lockedPCG is a seeded random source safe for concurrent use.
type lockedPCG struct {
	mu  sync.Mutex
	src *rand.PCG
}

func (l *lockedPCG) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src.Uint64()
}

func testMap(t *testing.T) *availability.Map {
	t.Helper()
	w, err := availtest.New("repo.example.org", map[string][]byte{
		"pool/a.iso": []byte("the a image"), "pool/b.jar": []byte("bbb"), "x y.txt": []byte("odd"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []config.Mirror{
		{Name: "de", HTTP: "http://de.example/pub/", HTTPS: "https://de.example/pub/", Country: "DE", Weight: 100},
		{Name: "fr", HTTPS: "https://fr.example/pub/", Country: "FR", Weight: 300},
		{Name: "us", HTTP: "http://us.example/pub/", Country: "US", Weight: 200},
	} {
		w.AddMirror(m)
		for _, a := range m.Access() {
			w.Hold(m.Name, a.Kind, "pool/a.iso", "x y.txt")
		}
	}
	if err := w.Link("latest.iso", "pool/a.iso"); err != nil {
		t.Fatal(err)
	}
	return w.Map().WithFallback("https://origin.example/pub/")
}

// stack is an edge's handler stack as "pando redirect" builds it.
type stack struct {
	rd      *redirect.Redirector
	metrics *metrics.Metrics
	log     *serve.AccessLogger
	logOut  *buftest.Buffer
	slow    http.Handler
	slowN   atomic.Int64 // requests the slow handler got
}

func newStack(t *testing.T, m *availability.Map, g *geo.DB) *stack {
	s := &stack{metrics: metrics.New(), logOut: &buftest.Buffer{}}
	s.rd = redirect.Handler(func() *availability.Map { return m }, g, redirect.Options{
		Candidates: 2, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		SelectOptions: redirect.SelectOptions{Rand: &lockedPCG{src: rand.NewPCG(1, 2)}},
	})
	s.log = serve.NewAccessLogger(s.logOut)
	counted := s.log.Wrap(metrics.Wrap(s.rd, s.metrics))
	s.slow = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.slowN.Add(1)
		counted.ServeHTTP(w, r)
	})
	return s
}

// running is a server serving on loopback in the background.
type running struct {
	base   string // http://ADDR
	cancel context.CancelFunc
	done   chan error
}

// run starts serve on a fresh loopback listener with a context derived
// from ctx; the test's end stops it.
func run(t *testing.T, ctx context.Context, serve func(context.Context, net.Listener) error) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &running{base: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := r.stop(t); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return r
}

// stop ends the server's context and returns what it returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for a later stop
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not return within 15s of its context's end")
		return nil
	}
}

// start serves s on loopback with the edge server, or net/http's if
// netHTTP, and returns the base URL.
func start(t *testing.T, s *stack, netHTTP bool) string {
	t.Helper()
	return run(t, context.Background(), func(ctx context.Context, ln net.Listener) error {
		if netHTTP {
			return serve.Serve(ctx, ln, s.slow, serve.Config{})
		}
		return edge.Serve(ctx, ln, s.rd, s.slow, edge.Config{Metrics: s.metrics, AccessLog: s.log})
	}).base
}

// rawResponse sends one raw request and returns the status line (with
// its protocol and whether the connection is to close), the header fields
// but Date (sorted, as sent) and the body.
func rawResponse(t *testing.T, base, request string) (string, []string, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// Written while the answer is read: a server that refuses a large
	// request answers and closes before it is all sent, and the rest of
	// the write then meets a reset.
	written := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, request)
		written <- err
	}()
	br := bufio.NewReader(c)
	req, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(request)))
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("%.80q: %v (writing it: %v)", request, err, <-written)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%q: body: %v", request, err)
	}
	var fields []string
	for k, vs := range resp.Header {
		if k == "Date" {
			continue
		}
		for _, v := range vs {
			fields = append(fields, k+": "+v)
		}
	}
	slices.Sort(fields)
	status := fmt.Sprintf("%s %s close=%v", resp.Proto, resp.Status, resp.Close)
	if resp.ContentLength >= 0 && resp.Header.Get("Content-Length") == "" && req.Method != "HEAD" {
		fields = append(fields, fmt.Sprintf("(length %d)", resp.ContentLength))
	}
	return status, fields, string(body)
}

// TestEdgeAnswersAsNetHTTP checks that the edge server answers every kind
// of request, quick or not, exactly as net/http does with the same
// handler and the same random draws: status, header fields and body.
func TestEdgeAnswersAsNetHTTP(t *testing.T) {
	m := testMap(t)
	dbFile, err := geotest.WriteDefault(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g, err := geo.Open(dbFile, "")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	fast, slow := newStack(t, m, g), newStack(t, m, g)
	fastURL, slowURL := start(t, fast, false), start(t, slow, true)

	de := "X-Forwarded-For: 127.0.1.9\r\n"
	quick := []string{ // the requests the edge's server answers itself
		"GET /pool/a.iso HTTP/1.1\r\nHost: e\r\n" + de + "\r\n",
		"HEAD /pool/a.iso HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /pool/a.iso HTTP/1.1\r\nHost: e\r\nX-Forwarded-Proto: https\r\n" + de + "\r\n",
	}
	requests := append(slices.Clone(quick),
		"GET /x%20y.txt HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /latest.iso HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /pool/b.jar HTTP/1.1\r\nHost: e\r\n\r\n", // held by no mirror: the fall-back
		"GET /no/such HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /pool/ HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /pool/../etc/passwd HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /pool/a.iso?mirrorlist=json HTTP/1.1\r\nHost: e\r\n"+de+"\r\n",
		"GET /pool/a.iso?mirrorlist HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /pool/a.iso.meta4 HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /mirrors.json HTTP/1.1\r\nHost: e\r\n\r\n",
		"DELETE /pool/a.iso HTTP/1.1\r\nHost: e\r\n\r\n",
	)
	for round := range 3 {
		for _, r := range requests {
			r = strings.Replace(r, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1)
			fs, ff, fb := rawResponse(t, fastURL, r)
			ss, sf, sb := rawResponse(t, slowURL, r)
			if fs != ss || !slices.Equal(ff, sf) || fb != sb {
				t.Errorf("round %d, %q:\nedge     %s\n\t%s\n%s\nnet/http %s\n\t%s\n%s", round, r,
					fs, strings.Join(ff, "\n\t"), fb, ss, strings.Join(sf, "\n\t"), sb)
			}
		}
	}

	if got, want := fast.slowN.Load(), int64(3*(len(requests)-len(quick))); got != want {
		t.Errorf("the edge handed %d requests to net/http's handler, want %d (all but the %d quick ones of each round)", got, want, len(quick))
	}

	// An HTTP/1.0 client gets the same answer in HTTP/1.1 (as RFC 9110
	// allows), with the connection closed.
	for _, target := range []string{"/pool/a.iso", "/pool/a.iso?mirrorlist=json"} {
		r := "GET " + target + " HTTP/1.0\r\n" + de + "\r\n"
		fs, ff, fb := rawResponse(t, fastURL, r)
		ss, sf, sb := rawResponse(t, slowURL, r)
		code := func(status string) string { return strings.Fields(status)[1] }
		if !strings.HasPrefix(fs, "HTTP/1.1 ") || !strings.HasSuffix(fs, "close=true") || code(fs) != code(ss) ||
			!slices.Equal(ff, sf) || fb != sb {
			t.Errorf("HTTP/1.0 %s: edge %s %v, net/http %s %v", target, fs, ff, ss, sf)
		}
	}

	// Both counted and logged the same requests the same way.
	for _, name := range []string{"pando_http_requests_total", "pando_redirects_total"} {
		if f, s := counters(t, fast.metrics, name), counters(t, slow.metrics, name); !slices.Equal(f, s) {
			t.Errorf("%s: edge counted\n\t%s\nnet/http\n\t%s", name, strings.Join(f, "\n\t"), strings.Join(s, "\n\t"))
		}
	}
	stamp := regexp.MustCompile(`\[[^]]*\]`)
	fl, sl := stamp.ReplaceAllString(fast.logOut.String(), "[T]"), stamp.ReplaceAllString(slow.logOut.String(), "[T]")
	if fl != sl || strings.Count(fl, "\n") != 3*len(requests)+2 {
		t.Errorf("access logs differ:\nedge:\n%s\nnet/http:\n%s", fl, sl)
	}
}

// counters returns the series of the counter family name as sorted
// "labels value" lines.
func counters(t *testing.T, m *metrics.Metrics, name string) []string {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out = append(out, fmt.Sprintf("%s %v", strings.Join(labels, ","), s.GetCounter().GetValue()))
		}
	}
	slices.Sort(out)
	return out
}

// TestEdgeRefusesOversizedRequests checks the header and body limits.
func TestEdgeRefusesOversizedRequests(t *testing.T) {
	s := newStack(t, testMap(t), nil)
	base := start(t, s, false)
	big := strings.Repeat("x", serve.DefaultMaxHeaderBytes)
	if status, _, _ := rawResponse(t, base, "GET /pool/a.iso HTTP/1.1\r\nHost: e\r\nX-Big: "+big+"\r\n\r\n"); !strings.Contains(status, " 431 ") {
		t.Errorf("header of %d bytes: %s, want 431", len(big), status)
	}
	body := strings.Repeat("y", 1<<20)
	if status, _, got := rawResponse(t, base, fmt.Sprintf("POST /pool/a.iso HTTP/1.1\r\nHost: e\r\nContent-Length: %d\r\n\r\n%s", len(body), body)); !strings.Contains(status, " 413 ") {
		t.Errorf("body of %d bytes: %s %q, want 413", len(body), status, got)
	}
	if status, _, _ := rawResponse(t, base, "GET /pool/a.iso HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n"); !strings.Contains(status, " 302 ") {
		t.Errorf("after refusals, a redirect: %s", status)
	}
}

// TestEdgeKeepAliveAndShutdown checks that many requests share one
// connection and that the server stops when its context ends, closing
// its listener.
func TestEdgeKeepAliveAndShutdown(t *testing.T) {
	s := newStack(t, testMap(t), nil)
	r := run(t, context.Background(), func(ctx context.Context, ln net.Listener) error {
		return edge.Serve(ctx, ln, s.rd, s.slow, edge.Config{})
	})
	var conns sync.Map
	c := &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				conns.Store(conn.LocalAddr().String(), true)
			}
			return conn, err
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for i := range 100 {
		resp, err := c.Get(r.base + "/pool/a.iso")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || !strings.HasSuffix(resp.Header.Get("Location"), "/pool/a.iso") {
			t.Fatalf("request %d: %s, Location %q", i, resp.Status, resp.Header.Get("Location"))
		}
	}
	n := 0
	conns.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("100 sequential requests took %d connections, want 1", n)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("Serve after shutdown: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(r.base, "http://"), time.Second); err == nil {
		conn.Close()
		t.Error("the listener still accepts after shutdown")
	}
}

// TestEdgeRefusesTLS checks that a TLS configuration is refused rather
// than ignored.
func TestEdgeRefusesTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := edge.Config{Server: serve.Config{TLS: testTLS(t)}}
	err = edge.Serve(context.Background(), ln, nil, http.NotFoundHandler(), cfg)
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("Serve with TLS: %v, want a refusal naming TLS", err)
	}
}

func testTLS(t *testing.T) *tls.Config {
	cert, _ := certtest.Pair(t, []string{"localhost"}, time.Now().Add(time.Hour))
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// mappedListener hands out connections whose peer reads as an
// IPv4-mapped IPv6 address, as an IPv4 client's does on a dual-stack
// listener ("[::]:8080").
type mappedListener struct{ net.Listener }

func (l mappedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	a := c.RemoteAddr().(*net.TCPAddr)
	return mappedConn{c, &net.TCPAddr{IP: a.IP.To16(), Port: a.Port}}, nil
}

type mappedConn struct {
	net.Conn
	remote *net.TCPAddr
}

func (c mappedConn) RemoteAddr() net.Addr { return c.remote }

// TestEdgeLogsIPv4PeerAsIPv4 checks that a request answered quickly logs
// an IPv4 client of a dual-stack listener as net/http's RemoteAddr has it.
func TestEdgeLogsIPv4PeerAsIPv4(t *testing.T) {
	s := newStack(t, testMap(t), nil)
	base := run(t, context.Background(), func(ctx context.Context, ln net.Listener) error {
		return edge.Serve(ctx, mappedListener{ln}, s.rd, s.slow, edge.Config{Metrics: s.metrics, AccessLog: s.log})
	}).base
	rawResponse(t, base, "GET /pool/a.iso HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n")
	rawResponse(t, base, "GET /pool/a.iso?mirrorlist=json HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n")
	lines := strings.Split(strings.TrimSpace(s.logOut.String()), "\n")
	if len(lines) != 2 || s.slowN.Load() != 1 {
		t.Fatalf("%d log lines, %d slow requests; want 2 and 1:\n%s", len(lines), s.slowN.Load(), s.logOut.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "127.0.0.1 - - [") {
			t.Errorf("log line %q: want the client as 127.0.0.1", l)
		}
	}
}

// TestEdgeStopsWhenToldBeforeServing checks that a context that ended
// before Serve began ends it at once, its listener closed.
func TestEdgeStopsWhenToldBeforeServing(t *testing.T) {
	s := newStack(t, testMap(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := run(t, ctx, func(ctx context.Context, ln net.Listener) error {
		return edge.Serve(ctx, ln, s.rd, s.slow, edge.Config{})
	})
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		r.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve with an ended context did not return")
	}
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(r.base, "http://"), time.Second); err == nil {
		conn.Close()
		t.Error("the listener still accepts")
	}
}

// TestEdgeSurvivesPanics checks that a handler's panic, on either path,
// is logged once and closes only its own connection, as with net/http.
func TestEdgeSurvivesPanics(t *testing.T) {
	m := testMap(t)
	var panicking atomic.Bool
	rd := redirect.Handler(func() *availability.Map {
		if panicking.Load() {
			panic("the map source failed")
		}
		return m
	}, nil, redirect.Options{})
	var slowN atomic.Int64
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowN.Add(1)
		if r.URL.Path == "/boom" {
			panic("the slow handler failed")
		}
		rd.ServeHTTP(w, r)
	})
	logs := &buftest.Buffer{}
	base := run(t, context.Background(), func(ctx context.Context, ln net.Listener) error {
		return edge.Serve(ctx, ln, rd, slow, edge.Config{Server: serve.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))}})
	}).base

	// A keep-alive connection that sees the panics happen on others.
	other, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherReader := bufio.NewReader(other)
	ask := func(what string) {
		t.Helper()
		other.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(other, "GET /pool/a.iso HTTP/1.1\r\nHost: e\r\n\r\n")
		resp, err := http.ReadResponse(otherReader, nil)
		if err != nil {
			t.Fatalf("the other connection, %s: %v", what, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("the other connection, %s: %s", what, resp.Status)
		}
	}
	ask("before the panics")

	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, error) {
		resp, err := c.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get("/boom"); err == nil {
		t.Errorf("a panicking slow handler answered %d; want the connection closed", code)
	}
	panicking.Store(true)
	if code, err := get("/pool/a.iso"); err == nil {
		t.Errorf("a panic on the quick path answered %d; want the connection closed", code)
	}
	if n := slowN.Load(); n != 1 {
		t.Errorf("the slow handler got %d requests, want 1 (/boom): the map's panic was not on the quick path", n)
	}
	panicking.Store(false)
	ask("after the panics")
	if code, err := get("/pool/a.iso"); err != nil || code != http.StatusFound {
		t.Fatalf("after the panics: %d, %v; want a redirect", code, err)
	}
	for _, want := range []string{"the slow handler failed", "the map source failed"} {
		if n := strings.Count(logs.String(), want); n != 1 {
			t.Errorf("the panic %q logged %d times, want once:\n%s", want, n, logs.String())
		}
	}
	if n := strings.Count(logs.String(), "panic serving a request"); n != 2 {
		t.Errorf("%d panics logged, want 2:\n%s", n, logs.String())
	}
}

// flakyListener fails its first Accepts as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestEdgeRidesOutAcceptErrors checks that temporary Accept errors (too
// many open files) do not end the server.
func TestEdgeRidesOutAcceptErrors(t *testing.T) {
	s := newStack(t, testMap(t), nil)
	base := run(t, context.Background(), func(ctx context.Context, ln net.Listener) error {
		fl := &flakyListener{Listener: ln}
		fl.fails.Store(3)
		return edge.Serve(ctx, fl, s.rd, s.slow, edge.Config{})
	}).base
	if status, _, _ := rawResponse(t, base, "GET /pool/a.iso HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n"); !strings.Contains(status, " 302 ") {
		t.Errorf("after three failed accepts: %s, want a redirect", status)
	}
}

// TestEdgeClosesConnectionsAtShutdownDeadline checks that a request still
// running when the shutdown grace ends has its connection closed, as
// net/http's server closes it, rather than left to the process's exit,
// and that a connection the client keeps idle is closed too.
func TestEdgeClosesConnectionsAtShutdownDeadline(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	h := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/slow" {
			entered <- struct{}{}
			<-release
		}
		ctx.SetStatusCode(http.StatusNoContent)
	}
	r := run(t, context.Background(), func(ctx context.Context, ln net.Listener) error {
		return edge.ServeHandler(ctx, ln, h, serve.Config{ShutdownTimeout: 200 * time.Millisecond})
	})
	addr := strings.TrimPrefix(r.base, "http://")
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	idle := dial()
	fmt.Fprint(idle, "GET /fast HTTP/1.1\r\nHost: e\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("a quick request: %v %v", resp, err)
	}
	busy := dial()
	fmt.Fprint(busy, "GET /slow HTTP/1.1\r\nHost: e\r\n\r\n")
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached its handler")
	}
	if err := r.stop(t); err != nil {
		t.Errorf("Serve: %v", err)
	}
	for name, c := range map[string]net.Conn{"running a request": busy, "idle": idle} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("the connection %s is still open 5s after Serve returned", name)
		} else if err == nil {
			t.Errorf("the connection %s: read %d bytes after shutdown, want it closed", name, n)
		}
	}
}
