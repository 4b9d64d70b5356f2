package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/pando-mirror/pando/bench/internal/delayproxy"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A tree is the synthetic object list every simulated mirror serves:
// Debian-like pool paths with log-normal sizes (median about 13 KiB).
type tree struct {
	paths []string
	sizes map[string]int64
}

func makeTree(n int) *tree {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	t := &tree{paths: make([]string, n), sizes: make(map[string]int64, n)}
	for i := range n {
		pkg := fmt.Sprintf("pkg%05d", i/4)
		p := fmt.Sprintf("pool/main/%c/%s/%s_%d.%d-%d_%s.deb",
			'a'+rune(i/4%26), pkg, pkg, 1+i%3, i%10, 1+i%4, [...]string{"amd64", "arm64", "i386", "all"}[i%4])
		t.paths[i] = p
		t.sizes[p] = int64(math.Exp(9.5 + 1.5*rng.NormFloat64()))
	}
	return t
}

// mirrorPrefix is where a simulated mirror serves the tree.
const mirrorPrefix = "/debian/"

// ServeHTTP answers HEAD (and GET, with zero bytes) for the tree's paths
// and 404 for anything else.
func (t *tree) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	size, ok := t.sizes[strings.TrimPrefix(r.URL.Path, mirrorPrefix)]
	if !ok || !strings.HasPrefix(r.URL.Path, mirrorPrefix) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	if r.Method == http.MethodGet {
		io.CopyN(w, zeros{}, size)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A mirror is one simulated mirror: an HTTP/1.1 server on loopback and the
// delay proxy the probers reach it through.
type mirror struct {
	url   string // through the proxy
	srv   *http.Server
	proxy *delayproxy.Proxy
}

// startMirror serves t on 127.0.0.1 behind a proxy adding rtt.
func startMirror(ctx context.Context, t *tree, rtt time.Duration) (*mirror, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	srv := &http.Server{
		Handler:           t,
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0), // the h2c attempts
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Printf("mirror %s: %v", ln.Addr(), err)
		}
	}()
	p, err := delayproxy.Start(ctx, ln.Addr().String(), rtt)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &mirror{url: "http://" + p.Addr() + mirrorPrefix, srv: srv, proxy: p}, nil
}

func (m *mirror) close() {
	m.proxy.Close()
	m.srv.Close()
}
