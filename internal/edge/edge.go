// Package edge owns the cleartext HTTP/1.1 server of an edge redirector
// ("pando redirect" without TLS). It is fasthttp's server, which answers a
// redirect in a little over half the CPU time of net/http's
// (docs/BENCHMARKS.md), for the one server in a network that answers every
// download.
//
// The request an edge sees most, a GET or HEAD of an object, is answered
// by redirect.Redirector.Quick straight from fasthttp's parsed request,
// and counted and logged here. Every other request (mirror lists,
// Metalink, /mirrors.json, /metrics, the fall-back, errors) goes through
// fasthttpadaptor to the net/http handler the caller gives, which is the
// same redirector the hub serves, wrapped for counting and logging: a
// client gets the same answer either way, and the counters and the access
// log read the same. What fasthttp does not do is HTTP/2; an edge that
// serves TLS uses package serve (net/http, with HTTP/2) instead.
package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/internal/serve"
)

// maxRequestBody bounds a request's body: the redirector reads none, so
// a client that sends more is refused (413) rather than read.
const maxRequestBody = 64 << 10

// Config configures Serve.
type Config struct {
	// Server holds the timeouts, the header limit and the logger, with
	// package serve's defaults for its zero fields; TLS must be nil.
	// ReadHeaderTimeout bounds reading a whole request, from its first
	// byte (a redirector's requests have no body), and the first from the
	// accept; IdleTimeout the wait for the next; WriteTimeout each write
	// of an answer. ReadTimeout is not used.
	Server serve.Config
	// Metrics, if set, counts the requests Quick answers as metrics.Wrap
	// counts the others.
	Metrics *metrics.Metrics
	// AccessLog, if set, logs the requests Quick answers; the slow
	// handler should log the others through the same logger.
	AccessLog *serve.AccessLogger
}

// Serve serves r's quick answers, and slow for everything else, on ln
// until ctx ends; then it stops accepting connections, closes idle ones,
// lets requests in flight finish for up to the shutdown timeout and
// returns nil. It returns an error only if the configuration is invalid
// or the listener fails. It closes ln.
func Serve(ctx context.Context, ln net.Listener, r *redirect.Redirector, slow http.Handler, cfg Config) error {
	log := cfg.Server.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &edge{quick: r, slow: fasthttpadaptor.NewFastHTTPHandler(recoveredHTTP(slow, log)), metrics: cfg.Metrics, log: cfg.AccessLog}
	return ServeHandler(ctx, ln, e.handle, cfg.Server)
}

// recovered treats a panic in h as net/http treats one in a handler: it
// logs the panic with its stack (unless it is http.ErrAbortHandler, a
// handler's way to abort) and closes the connection without an answer;
// the server and its other connections go on (fasthttp itself would let
// the panic end the process).
func recovered(h fasthttp.RequestHandler, log *slog.Logger) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			if v := recover(); v != nil {
				logPanic(log, v, ctx.RemoteAddr().String(), string(ctx.RequestURI()))
				ctx.HijackSetNoResponse(true)
				ctx.Hijack(func(c net.Conn) { c.Close() })
			}
		}()
		h(ctx)
	}
}

// recoveredHTTP logs a panic of h (on fasthttpadaptor's goroutine, where
// its stack is) and aborts the request, which the adaptor answers by
// closing the connection.
func recoveredHTTP(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				logPanic(log, v, r.RemoteAddr, r.RequestURI)
				panic(http.ErrAbortHandler)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

func logPanic(log *slog.Logger, v any, remote, uri string) {
	if v == http.ErrAbortHandler {
		return
	}
	log.Error("panic serving a request", "remote", remote, "uri", uri, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// ServeHandler serves h on ln as Serve does, with the same server: for a
// reference handler that is to be measured against the edge on equal
// terms.
func ServeHandler(ctx context.Context, ln net.Listener, h fasthttp.RequestHandler, cfg serve.Config) error {
	sc, err := cfg.WithDefaults()
	if err == nil && sc.TLS != nil {
		err = errors.New("edge server: TLS is served by package serve")
	}
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	srv := &fasthttp.Server{
		Handler:               recovered(h, sc.Logger),
		ErrorHandler:          refuse,
		Logger:                printfLogger{sc.Logger},
		ReadBufferSize:        sc.MaxHeaderBytes,
		MaxRequestBodySize:    maxRequestBody,
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		CloseOnShutdown:       true,
		ConnState:             connState, // for the connections' timeouts
		SecureErrorLogMessage: true,      // a bad request's bytes, cookies and all, stay out of the log
	}
	// The connections keep the timeouts (see conn): fasthttp's would set
	// three deadlines a request.
	l := newListener(ln, sc.Logger, timeouts{read: sc.ReadHeaderTimeout, idle: sc.IdleTimeout, write: sc.WriteTimeout})
	return serve.Run(ctx, l, fastServer{srv, l}, sc)
}

// fastServer is fasthttp's server as a serve.Server. fasthttp cannot drop
// the connections left at the shutdown deadline, so Close closes them
// through the listener that accepted them, as net/http's server does.
type fastServer struct {
	*fasthttp.Server
	ln *listener
}

func (s fastServer) Shutdown(ctx context.Context) error { return s.ShutdownWithContext(ctx) }
func (s fastServer) Close() error                       { s.ln.closeConns(); return nil }

// An edge answers one request.
type edge struct {
	quick   *redirect.Redirector
	slow    fasthttp.RequestHandler
	metrics *metrics.Metrics
	log     *serve.AccessLogger
}

func (e *edge) handle(ctx *fasthttp.RequestCtx) {
	var method string
	switch {
	case ctx.IsGet():
		method = http.MethodGet
	case ctx.IsHead():
		method = http.MethodHead
	default:
		e.slow(ctx)
		return
	}
	target := string(ctx.RequestURI())
	if metrics.Kind(method, target, false) != "object" { // counted apart, as the slow path counts them
		e.slow(ctx)
		return
	}
	req := redirect.QuickRequest{Method: method, Target: target, Peer: peer(ctx),
		Header: func(name string) []string { return values(&ctx.Request.Header, name) }}
	answer, ok := e.quick.Quick(&req, ctx.Response.Header.AddBytesV)
	if !ok {
		e.slow(ctx)
		return
	}
	ctx.SetStatusCode(http.StatusFound)
	ctx.Response.Header.SetContentLength(0) // fasthttp leaves it out of an empty answer to HEAD
	if e.metrics != nil {
		e.metrics.ObserveRequest("object", "3xx")
		e.metrics.ObserveRedirect(answer.Mirror, "redirect")
	}
	if e.log != nil {
		e.log.Log(&serve.LogEntry{Host: req.Peer.String(), Method: method, URI: target,
			Proto: string(ctx.Request.Header.Protocol()), Referer: string(ctx.Referer()),
			UserAgent: string(ctx.UserAgent()), Start: ctx.Time(), Status: http.StatusFound})
	}
}

// refuse answers a request fasthttp could not read.
func refuse(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		ctx.Error("request header too large", http.StatusRequestHeaderFieldsTooLarge)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Error("request body too large: the redirector reads none", http.StatusRequestEntityTooLarge)
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.Error("request not read in time", http.StatusRequestTimeout)
	default:
		ctx.Error("malformed request", http.StatusBadRequest)
	}
}

// peer returns the address of the connection's other end, an IPv4 one
// as such on a dual-stack listener (as net/http's RemoteAddr has it).
func peer(ctx *fasthttp.RequestCtx) netip.Addr {
	if a, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// values returns the values of the request header name, in order.
func values(h *fasthttp.RequestHeader, name string) []string {
	var vs []string
	for _, v := range h.PeekAll(name) {
		vs = append(vs, string(v))
	}
	return vs
}

// printfLogger hands fasthttp's log lines to slog at debug level: they
// are about single malformed requests or broken connections, which
// net/http answers without logging, and any client can cause them.
type printfLogger struct{ log *slog.Logger }

func (l printfLogger) Printf(format string, args ...any) {
	l.log.Debug("http server: " + fmt.Sprintf(format, args...))
}
