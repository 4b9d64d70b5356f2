//go:build unix

package web

import (
	"github.com/pando-mirror/pando/internal/chromiumtest"
	"testing"
)

// The tests drive Debian's headless Chromium: it loads a page from a server
// on loopback, runs its scripts and prints the resulting DOM (--dump-dom) or
// saves a screenshot.

const (
	// virtualTimeBudget lets the page's timers run in virtual time: Chromium
	// dumps the DOM once its scripts have nothing left to do. Virtual time
	// stands still while a request is pending, so a page that must see a
	// request time out is loaded in real time instead.
	virtualTimeBudget = "--virtual-time-budget=5000"
)

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

// runChromium runs headless Chromium with args and returns what it printed.
func runChromium(t *testing.T, args ...string) string {
	t.Helper()
	return chromiumtest.Run(t, args...)
}
