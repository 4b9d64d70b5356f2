package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// progress prints timestamped progress lines to stderr.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	start time.Time
}

func newProgress(out io.Writer) *progress { return &progress{out: out, start: time.Now()} }

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "[%7.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// capBuffer keeps the first limit bytes written to it and counts the rest.
type capBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	limit   int
	dropped int64
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if room := max(c.limit-c.buf.Len(), 0); room < n {
		c.dropped += int64(n - room)
		p = p[:room]
	}
	c.buf.Write(p)
	return n, nil
}

func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// tail returns the last few lines of s, for error messages.
func tail(s string, lines int) string {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// A result is one finished command.
type result struct {
	took   time.Duration
	stdout string
	stderr string
}

// runCmd runs name with args in dir under timeout and measures its wall
// clock time. A non-zero exit is an error that quotes the end of stderr.
func runCmd(ctx context.Context, timeout time.Duration, dir, name string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	stdout, stderr := &capBuffer{limit: 1 << 20}, &capBuffer{limit: 1 << 20}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err := cmd.Run()
	r := result{took: time.Since(start), stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() == context.DeadlineExceeded {
		return r, fmt.Errorf("%s %s: no result after %v", filepath.Base(name), strings.Join(args, " "), timeout)
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, tail(r.stderr, 5))
	}
	return r, nil
}

// buildPando builds ./cmd/pando of the module around the working directory
// into dir and returns the binary's path.
func buildPando(ctx context.Context, cfg config, dir string) (string, error) {
	if cfg.pando != "" {
		if _, err := os.Stat(cfg.pando); err != nil {
			return "", fmt.Errorf("-pando: %w", err)
		}
		return cfg.pando, nil
	}
	r, err := runCmd(ctx, 10*time.Minute, "", "go", "env", "GOMOD")
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	gomod := strings.TrimSpace(r.stdout)
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the pando module (no go.mod found)")
	}
	bin := filepath.Join(dir, "pando")
	if _, err := runCmd(ctx, 10*time.Minute, filepath.Dir(gomod), "go", "build", "-o", bin, "./cmd/pando"); err != nil {
		return "", fmt.Errorf("building pando: %w", err)
	}
	return bin, nil
}

// A daemon is a long-running server process.
type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *capBuffer
	err  error // set before done closes
}

// startDaemon starts a server that listens on addr and waits, a bounded
// time, until it accepts connections.
func startDaemon(ctx context.Context, addr, name string, args ...string) (*daemon, error) {
	d := &daemon{name: filepath.Base(name), done: make(chan struct{}), log: &capBuffer{limit: 64 << 10}}
	d.cmd = exec.CommandContext(ctx, name, args...)
	d.cmd.Stdout, d.cmd.Stderr = io.Discard, d.log
	d.cmd.WaitDelay = 5 * time.Second
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", d.name, err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	for range 200 {
		select {
		case <-d.done:
			return nil, fmt.Errorf("%s %s exited at start (%v): %s", d.name, strings.Join(args, " "), d.err, tail(d.log.String(), 5))
		case <-ctx.Done():
			d.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return d, nil
		}
	}
	d.stop()
	return nil, fmt.Errorf("%s did not accept connections on %s within 10s: %s", d.name, addr, tail(d.log.String(), 5))
}

// stop ends the daemon and waits for it.
func (d *daemon) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	<-d.done
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
