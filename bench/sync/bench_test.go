package main

import (
	"bytes"
	"context"
	"github.com/pando-mirror/pando/bench/internal/delayproxy"
	"io"
	"net"
	"reflect"
	"testing"
	"time"
)

func TestPlanTreeIsDeterministicAndUnique(t *testing.T) {
	a, b := planTree(5000, 1, 7), planTree(5000, 1, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different trees")
	}
	seen := make(map[string]bool)
	for _, f := range a.Files {
		if seen[f.Path] {
			t.Fatalf("duplicate path %s", f.Path)
		}
		seen[f.Path] = true
		if f.Size < sizeMin || f.Size > sizeMax {
			t.Fatalf("%s: size %d outside [%d, %d]", f.Path, f.Size, sizeMin, sizeMax)
		}
	}
	if c := planTree(5000, 1, 8); reflect.DeepEqual(a.Files[:10], c.Files[:10]) {
		t.Error("different seeds, same files")
	}
}

func TestDefaultTreeSize(t *testing.T) {
	tr := planTree(75000, 1, 1)
	if tr.Bytes < 1<<30 || tr.Bytes > 2<<30 {
		t.Errorf("default tree is %s, want 1 to 2 GiB", human(tr.Bytes))
	}
	if len(tr.Dirs) != 3000 {
		t.Errorf("%d leaf directories, want 3000", len(tr.Dirs))
	}
}

func TestPlanChange(t *testing.T) {
	tr := planTree(10000, 1, 1)
	writes, removes, c := planChange(tr, 0.01, 1, 1)
	if c.total() != 100 || c.Added != 5 || c.Removed != 5 || c.SameSize+c.NewSize != 90 {
		t.Errorf("change %+v, want 100 files: 5 added, 5 removed, 90 rewritten", c)
	}
	if len(writes) != 95 || len(removes) != 5 {
		t.Errorf("%d writes and %d removes, want 95 and 5", len(writes), len(removes))
	}
}

func TestDiffTrees(t *testing.T) {
	want := map[string]int64{"a": 1, "b": 2, "c": 3}
	got := map[string]int64{"a": 1, "b": 5, "d": 4}
	const d = "1 missing (c); 1 extra (d); 1 wrong size (b (5 bytes, want 2))"
	if s := diffTrees(want, got); s != d {
		t.Errorf("diffTrees = %q, want %q", s, d)
	}
	if s := diffTrees(want, want); s != "" {
		t.Errorf("diffTrees of equal trees = %q", s)
	}
}

// TestProxyDelaysAndKeepsOrder echoes bytes through the proxy and expects
// them back intact, one round trip later.
func TestProxyDelaysAndKeepsOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
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
	p, err := delayproxy.Start(ctx, ln.Addr().String(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("0123456789"), 100000)
	start := time.Now()
	go func() { c.Write(msg); c.(*net.TCPConn).CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo through the proxy: %d bytes back, want %d, equal %v", len(got), len(msg), bytes.Equal(got, msg))
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("echo took %v, want about one round trip of 100ms", d)
	}
}
