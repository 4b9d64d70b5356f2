package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store/pgtest"
)

// These tests run the real pando binary, as an operator would, against real
// servers on loopback. TestMain builds it once.

var pandoBin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	// pando get keeps checkpoints under $XDG_STATE_HOME: the runs of the
	// tests keep theirs in a directory of their own.
	state, err := os.MkdirTemp("", "pando-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(state)
	os.Setenv("XDG_STATE_HOME", state)
	defer pgtest.Stop()
	if bin := os.Getenv("PANDO_TEST_BIN"); bin != "" { // a prebuilt binary, for repeated runs
		pandoBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "pando-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pandoBin = filepath.Join(dir, "pando")
	build := exec.Command("go", "build", "-o", pandoBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building pando:", err)
		return 1
	}
	return m.Run()
}

// result is what one pando invocation did.
type result struct {
	stdout, stderr string
	code           int
}

// pando runs the binary with args and a deadline.
func pando(t *testing.T, args ...string) result {
	t.Helper()
	return pandoEnv(t, nil, args...)
}

// pandoEnv runs the binary with extra environment variables.
func pandoEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pandoBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pando %v: %v", args, err)
	}
	return r
}

// mustPando runs pando and fails the test unless it exits 0.
func mustPando(t *testing.T, args ...string) result {
	t.Helper()
	r := pando(t, args...)
	if r.code != 0 {
		t.Fatalf("pando %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// keys creates an origin key pair and returns the key and pubkey file names.
func keys(t *testing.T, dir, origin string) (key, pub string) {
	t.Helper()
	prefix := filepath.Join(dir, origin)
	mustPando(t, "keygen", "--out", prefix, origin)
	return prefix + ".key", prefix + ".pub"
}

// writeFiles writes files (path -> contents) below root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		name := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// randomFile writes n random bytes at p below root.
func randomFile(t *testing.T, root, p string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	writeFiles(t, root, map[string]string{p: string(b)})
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServe starts "pando serve" on root and returns its base URL. The server is
// stopped with SIGTERM when the test ends.
func startServe(t *testing.T, root string) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(pandoBin, "serve", "--root", root, "--listen", addr)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	base := "http://" + addr + "/"
	for i := 0; i < 100; i++ {
		resp, err := http.Get(base)
		if err == nil {
			resp.Body.Close()
			return base
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pando serve on %s did not come up: %s", addr, errb.String())
	return ""
}

// treeFiles returns path -> contents for every file below root outside .pando,
// and path -> "-> target" for symlinks.
func treeFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.Walk(root, func(name string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, name)
		rel = filepath.ToSlash(rel)
		if rel == ".pando" {
			return filepath.SkipDir
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(name)
			out[rel] = "-> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			out[rel] = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree fails the test unless the two trees hold the same files.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	w, g := treeFiles(t, want), treeFiles(t, got)
	for p, data := range w {
		if gd, ok := g[p]; !ok {
			t.Errorf("%s: missing in %s", p, got)
		} else if gd != data {
			t.Errorf("%s: contents differ in %s", p, got)
		}
	}
	for p := range g {
		if _, ok := w[p]; !ok {
			t.Errorf("%s: extra in %s", p, got)
		}
	}
}
