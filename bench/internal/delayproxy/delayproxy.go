// Package delayproxy owns the benchmarks' injected round-trip time: a TCP
// proxy on loopback that holds every chunk for half the round trip in each
// direction, in order, without limiting bandwidth.
package delayproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// proxyQueue bounds the chunks in flight in one direction of one connection
// (at most proxyQueue*proxyChunk bytes), so a slow reader slows the writer
// down as TCP would instead of filling memory.
const (
	proxyQueue = 512
	proxyChunk = 32 << 10
)

// A Proxy forwards every connection it accepts on a loopback port to
// target, holding each chunk of bytes for half the round-trip time in each
// direction before passing it on, in order. Bandwidth is not limited: many
// chunks are in flight at once, as on a long fat link.
type Proxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start listens on 127.0.0.1:0 and forwards to target with rtt.
func Start(ctx context.Context, target string, rtt time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("delay proxy for %s: %w", target, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Proxy{ln: ln, target: target, oneWay: rtt / 2, cancel: cancel}
	context.AfterFunc(ctx, func() { ln.Close() })
	p.wg.Go(func() { p.accept(ctx) })
	return p, nil
}

// Addr is the proxy's listening address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, breaks every open connection and waits for them.
func (p *Proxy) Close() {
	p.cancel()
	p.wg.Wait()
}

func (p *Proxy) accept(ctx context.Context) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // the listener was closed
		}
		p.wg.Go(func() { p.handle(ctx, c) })
	}
}

// handle relays one connection until both directions have ended.
func (p *Proxy) handle(ctx context.Context, client net.Conn) {
	defer client.Close()
	d := net.Dialer{Timeout: 10 * time.Second}
	server, err := d.DialContext(ctx, "tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	stop := context.AfterFunc(ctx, func() { client.Close(); server.Close() })
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { p.forward(server, client) })
	wg.Go(func() { p.forward(client, server) })
	wg.Wait()
}

type chunk struct {
	b   []byte
	due time.Time
}

// forward copies src to dst, each chunk delayed by oneWay from the moment it
// was read. A clean end of src half-closes dst; any error closes both.
func (p *Proxy) forward(dst, src net.Conn) {
	ch := make(chan chunk, proxyQueue)
	var readErr error
	go func() {
		defer close(ch)
		buf := make([]byte, proxyChunk)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(p.oneWay)}
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			dst.Close()
			src.Close()
			for range ch { // let the reader finish
			}
			return
		}
	}
	if !errors.Is(readErr, io.EOF) {
		dst.Close()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
