//go:build unix

// Package chromiumtest runs Debian's headless Chromium for tests, as a
// person's browser would load a page from a server on loopback: with a fresh
// profile, the flags this closed network needs, a deadline, and no process
// left behind. It is imported only by tests.
package chromiumtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds one Chromium run.
const Timeout = 60 * time.Second

// slots bounds how many Chromium processes run at once in one test binary.
var slots = make(chan struct{}, 4)

// Path returns the Chromium binary, failing the test without one.
func Path(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (%v): these tests drive a real browser; `make test` installs it (scripts/install-deps.sh)", err)
	}
	return path
}

// Run runs headless Chromium with a fresh profile and args, and returns what
// it printed. On timeout it kills Chromium's whole process group, and it
// kills what is left of the group when Chromium exits.
func Run(t testing.TB, args ...string) string {
	t.Helper()
	path := Path(t)
	slots <- struct{}{}
	defer func() { <-slots }()

	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append(flags(profile), args...)...)
	cmd.Dir = profile
	cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers left behind; usually none
	}
	if ctx.Err() != nil {
		t.Fatalf("chromium %s: no result within %v\nstderr:\n%s", strings.Join(args, " "), Timeout, tail(stderr.String()))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.String()
}

// flags are what a headless Chromium needs on a machine with no network:
// without the background-networking flags it keeps trying Google's hosts.
func flags(profile string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(profile, "chromium"),
	}
}

// tail returns the last lines of Chromium's log, where its errors are.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
