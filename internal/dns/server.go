// Package dnsserver is the hub's authoritative DNS server. It owns the
// names below and refuses every other:
//
//   - the download name (dns.name), answered with the A and AAAA records of
//     up to dns.answers mirrors that are healthy for DNS, chosen by the
//     redirector's rules of place and weight for the client (or the EDNS
//     Client Subnet it names), with a short TTL;
//   - the list name (dns.list_name), whose TXT records list every mirror
//     healthy for DNS, one record per URL:
//     "url=https://m.example.net/pub/ weight=100 cc=DE", and whose SRV names
//     _http._tcp and _https._tcp below it name the hosts of those URLs
//     (those given as host names) with each mirror's weight.
//
// A mirror is healthy for DNS if it is enabled, checked and trusted, and at
// least one of its http or https access points was reached by the latest
// check and was verified to hold every live object of the current
// availability map at its current version. A mirror whose latest check
// failed (unreachable, tampered) is never answered. Its addresses are those
// of the hosts of those access points: IP literals as they are, host names
// resolved once per new map (and cached when a lookup fails), every address
// used.
//
// The server answers over UDP and TCP; a UDP answer larger than the
// client's EDNS buffer (512 bytes without EDNS) is truncated with TC set,
// so the client retries over TCP. Queries are rate limited per client /24
// (IPv4) or /64 (IPv6): UDP queries over the limit are dropped, TCP ones
// refused. docs/DNS.md describes it for operators.
package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/geo"
)

// Defaults of Options left zero.
const (
	DefaultRefresh        = time.Second
	DefaultResolveTimeout = 5 * time.Second
	shutdownTimeout       = 5 * time.Second
)

// Options configure a Server.
type Options struct {
	Name     string // the download name: lower case, no final dot
	ListName string // the list name, or "" for none
	Answers  int    // most A (or AAAA) records in an answer; at least 1
	TTL      time.Duration
	Rate     float64 // queries per second per client prefix
	Burst    int

	Map func() *availability.Map // the current map; may return nil before the first pass
	Geo func() *geo.DB           // the current GeoIP database; nil or returning nil for none

	// Resolve looks up a mirror's host name; nil uses net.DefaultResolver.
	Resolve        func(ctx context.Context, host string) ([]netip.Addr, error)
	ResolveTimeout time.Duration // per host name; 0 means DefaultResolveTimeout
	Refresh        time.Duration // how often to look for a new map; 0 means DefaultRefresh
	Log            *slog.Logger
}

// A Server answers DNS queries from the current availability map. Its
// methods are safe for concurrent use.
type Server struct {
	opts  Options
	view  atomic.Pointer[view]
	limit *limiter
}

// New returns a server with opts.
func New(opts Options) *Server {
	if opts.Answers < 1 {
		opts.Answers = 1
	}
	if opts.Resolve == nil {
		opts.Resolve = defaultResolve
	}
	if opts.ResolveTimeout <= 0 {
		opts.ResolveTimeout = DefaultResolveTimeout
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Server{opts: opts, limit: newLimiter(opts.Rate, opts.Burst)}
}

func defaultResolve(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// ListenAndServe serves on addr over UDP and TCP until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	pc, ln, err := listen(addr)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	return s.Serve(ctx, pc, ln)
}

// listenTries bounds how often listen picks another port when the port the
// kernel chose for UDP is taken for TCP.
const listenTries = 16

// listen listens on addr over UDP and then TCP on the same port. With port
// 0 the kernel picks a UDP port that may already be in use over TCP; then
// another is tried.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for try := 1; ; try++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == listenTries {
			return nil, nil, err
		}
	}
}

// Serve answers queries on pc (UDP) and ln (TCP), and keeps its view of the
// map current, until ctx ends. It closes pc and ln.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn, ln net.Listener) error {
	s.Update(ctx)
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	errs := make(chan error, 2)
	go func() { errs <- udp.ActivateAndServe() }()
	go func() { errs <- tcp.ActivateAndServe() }()
	s.opts.Log.Info("dns server listening", "addr", pc.LocalAddr().String(), "name", s.opts.Name)
	err := s.refreshUntil(ctx, errs)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	for _, srv := range []*dns.Server{udp, tcp} {
		if e := srv.ShutdownContext(sctx); e != nil && err == nil && !errors.Is(e, context.DeadlineExceeded) {
			err = e
		}
	}
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	return nil
}

// refreshUntil updates the view every Refresh until ctx ends (nil) or a
// server stops on its own (its error).
func (s *Server) refreshUntil(ctx context.Context, errs <-chan error) error {
	t := time.NewTicker(s.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			if err == nil {
				err = errors.New("server stopped")
			}
			return err
		case <-t.C:
			s.Update(ctx)
		}
	}
}

// Update rebuilds the server's view if the map has changed since the last
// one: the mirrors healthy for DNS and their addresses.
func (s *Server) Update(ctx context.Context) {
	m := s.opts.Map()
	old := s.view.Load()
	if m == nil || (old != nil && old.m == m) {
		return
	}
	v := s.build(ctx, m, old)
	s.view.Store(v)
	s.opts.Log.Info("dns view", "mirrors", len(v.targets), "records", m.Records())
}
