//go:build unix

package web

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

// The tests drive Debian's headless Chromium: it loads a page from a server
// on loopback, runs its scripts and prints the resulting DOM (--dump-dom) or
// saves a screenshot.

const (
	chromiumTimeout = 60 * time.Second
	// virtualTimeBudget lets the page's timers run in virtual time: Chromium
	// dumps the DOM once its scripts have nothing left to do. Virtual time
	// stands still while a request is pending, so a page that must see a
	// request time out is loaded in real time instead.
	virtualTimeBudget = "--virtual-time-budget=5000"
)

// chromiumSlots bounds how many Chromium processes the tests run at once.
var chromiumSlots = make(chan struct{}, 4)

// chromiumPath returns the Chromium binary, failing the test without one.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (%v): these tests drive a real browser; `make test` installs it (scripts/install-deps.sh)", err)
	}
	return path
}

// A load says how Chromium loads a page.
type load struct {
	realTime bool // no virtual time budget
	insecure bool // accept the test server's certificate
}

// dumpDOM loads url in headless Chromium and returns the DOM after the
// page's scripts ran.
func dumpDOM(t *testing.T, url string, l load) string {
	t.Helper()
	return runChromium(t, l.args("--dump-dom", url)...)
}

// screenshot loads url in an 800x600 window and saves a PNG to file.
func screenshot(t *testing.T, url, file string, l load) {
	t.Helper()
	runChromium(t, l.args("--window-size=800,600", "--screenshot="+file, url)...)
}

func (l load) args(args ...string) []string {
	var flags []string
	if !l.realTime {
		flags = append(flags, virtualTimeBudget)
	}
	if l.insecure {
		flags = append(flags, "--ignore-certificate-errors")
	}
	return append(flags, args...)
}

// runChromium runs headless Chromium with a fresh profile and args, and
// returns what it printed. On timeout it kills Chromium's whole process
// group, and it kills what is left of the group when Chromium exits.
func runChromium(t *testing.T, args ...string) string {
	t.Helper()
	path := chromiumPath(t)
	chromiumSlots <- struct{}{}
	defer func() { <-chromiumSlots }()

	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), chromiumTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append(baseFlags(profile), args...)...)
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
		t.Fatalf("chromium %s: no result within %v\nstderr:\n%s", strings.Join(args, " "), chromiumTimeout, tail(stderr.String()))
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.String()
}

func baseFlags(profile string) []string {
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
