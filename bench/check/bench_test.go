package main

import (
	"bytes"
	"github.com/pando-mirror/pando/bench/internal/delayproxy"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestMakeTree(t *testing.T) {
	a, b := makeTree(5000), makeTree(5000)
	if len(a.sizes) != 5000 {
		t.Fatalf("%d distinct paths of 5000", len(a.sizes))
	}
	for i, p := range a.paths {
		if b.paths[i] != p || b.sizes[p] != a.sizes[p] {
			t.Fatalf("two trees of 5000 differ at %d", i)
		}
		if a.sizes[p] < 0 {
			t.Fatalf("%s: size %d", p, a.sizes[p])
		}
	}
}

func TestIdeal(t *testing.T) {
	cfg := config{rtt: 50 * time.Millisecond}
	if got := ideal(cfg, 75000, 8, 16); got < 29.29 || got > 29.31 { // 586 round trips
		t.Errorf("ideal %v, want 29.3", got)
	}
}

// TestProxyDelays: a round trip through the proxy takes about the rtt, and
// bytes arrive in order.
func TestProxyDelays(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	p, err := delayproxy.Start(t.Context(), ln.Addr().String(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	msg := []byte(strings.Repeat("0123456789", 10000))
	go func() {
		for i := 0; i < len(msg); i += 1000 {
			c.Write(msg[i : i+1000])
		}
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > time.Second {
		t.Errorf("echo through the proxy took %v, want about 100ms", took)
	}
	if !bytes.Equal(got, msg) {
		t.Error("bytes reordered or changed")
	}
}

// TestRunSmall runs the whole benchmark on a small tree.
func TestRunSmall(t *testing.T) {
	var out, errs bytes.Buffer
	code := mainCode(t.Context(), []string{"-objects", "400", "-rtt", "4ms", "-mirrors", "3", "-naive", "20"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, want := range []string{"one mirror, pipelined", "one mirror, naive (20 timed, x20)", "3 mirrors in parallel", "naive / pipelined"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if code := mainCode(t.Context(), []string{"-conns", "0"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("-conns 0: exit %d, want 2", code)
	}
}
