package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Bounds on one direction of one proxied connection: at most proxyQueue
// chunks of proxyChunk bytes in flight, so a slow reader slows the writer
// as TCP would instead of filling memory.
const (
	proxyQueue = 256
	proxyChunk = 32 << 10
)

// A delayProxy forwards every connection it accepts on a loopback port to
// a target, holding each chunk of bytes for rtt/2 in each direction before
// passing it on, in order. Bandwidth is not limited. Connection setup is
// not delayed: a real TCP handshake would add one more round trip per
// connection.
type delayProxy struct {
	ln     net.Listener
	target string
	oneWay time.Duration
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startProxy(ctx context.Context, target string, rtt time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("delay proxy for %s: %w", target, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &delayProxy{ln: ln, target: target, oneWay: rtt / 2, cancel: cancel}
	context.AfterFunc(ctx, func() { ln.Close() })
	p.wg.Go(func() { p.accept(ctx) })
	return p, nil
}

func (p *delayProxy) addr() string { return p.ln.Addr().String() }

// close stops accepting, breaks every open connection and waits for them.
func (p *delayProxy) close() {
	p.cancel()
	p.wg.Wait()
}

func (p *delayProxy) accept(ctx context.Context) {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Go(func() { p.relay(ctx, c) })
	}
}

// relay forwards one connection until both directions have ended.
func (p *delayProxy) relay(ctx context.Context, client net.Conn) {
	defer client.Close()
	d := net.Dialer{Timeout: 10 * time.Second}
	server, err := d.DialContext(ctx, "tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	defer context.AfterFunc(ctx, func() { client.Close(); server.Close() })()
	var wg sync.WaitGroup
	wg.Go(func() { p.forward(server, client) })
	wg.Go(func() { p.forward(client, server) })
	wg.Wait()
}

type chunk struct {
	b   []byte
	due time.Time
}

// forward copies src to dst, each chunk delayed by oneWay from when it was
// read. The end of src half-closes dst; an error closes both.
func (p *delayProxy) forward(dst, src net.Conn) {
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
			for range ch { // let the reader end
			}
			return
		}
	}
	if !errors.Is(readErr, io.EOF) {
		dst.Close()
		return
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}
