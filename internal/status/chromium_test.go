//go:build unix

package status

import (
	"bytes"
	"flag"
	"github.com/pando-mirror/pando/internal/chromiumtest"
	"html"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// These tests load the status pages in Debian's headless Chromium from a
// server on loopback and read what a person would see. The pages carry no
// script, and their Content-Security-Policy forbids any, so what Chromium
// shows is what a browser with JavaScript off shows. Screenshots are left in $PANDO_ARTIFACTS (or a temporary
// directory); -update-docs also writes the overview to docs/status.png.

var updateDocs = flag.Bool("update-docs", false, "write the overview's screenshot to docs/status.png")

func TestChromiumOverview(t *testing.T) {
	t.Parallel()
	base := serveWorld(t)
	dom := dumpDOM(t, base+"/")
	for name, state := range wantStates {
		got := visibleText(row(dom, name))
		if !strings.HasPrefix(got, name+" "+state+" ") {
			t.Errorf("the row of %s reads %q, want it to start with %q", name, got, name+" "+state)
		}
	}
	if order := rowOrder(dom); len(order) != len(wantStates) || order[0] != "lyon" {
		t.Errorf("rows %v: want all %d mirrors, the tampered lyon first", order, len(wantStates))
	}
	mustContain(t, "tampered row", visibleText(row(dom, "lyon")), "Tampered", "tampered (wrong content)")
	mustContain(t, "page", visibleText(dom), "Latest checkpoint 3 records", "Signed 2 h ago",
		"A mirror serves tampered data or a log that contradicts the origin's.", "lyon (tampered)")

	// Sorting is a link: follow the Lag column's header.
	href := headerLink(t, dom, "Lag")
	dom = dumpDOM(t, base+href)
	if order := rowOrder(dom); len(order) == 0 || order[0] != "ohio" {
		t.Errorf("after following %s: rows %v, want the stale ohio first", href, order)
	}
	// Filtering is a GET form: load what submitting it asks for.
	dom = dumpDOM(t, base+"/?filter=healthy&q=")
	if order := rowOrder(dom); len(order) != 1 || order[0] != "berlin" {
		t.Errorf("healthy mirrors: %v, want [berlin]", order)
	}
	mustContain(t, "filtered", visibleText(dom), "Showing 1 of 7 mirrors.")
}

func TestChromiumMirrorAndObject(t *testing.T) {
	t.Parallel()
	base := serveWorld(t)
	dom := dumpDOM(t, base+"/mirrors/lyon")
	mustContain(t, "mirror page", visibleText(dom), "Mirror lyon Tampered", "tampered (wrong content)", "releases/1.0/os.iso")
	for _, id := range []string{"lag-title", "complete-title", "traffic-title"} {
		if !strings.Contains(dom, `<title id="`+id+`">`) {
			t.Errorf("mirror page: no chart titled by %s", id)
		}
	}
	dom = dumpDOM(t, base+"/objects?path=releases/1.0/os.iso")
	mustContain(t, "object page", visibleText(dom), "1 mirror is verified to hold the current version.",
		"berlin https yes", "lyon https no", sum(testFiles[isoPath]))
	dom = dumpDOM(t, base+"/objects?path=..%2Fetc")
	mustContain(t, "bad path", visibleText(dom), "Not a valid path", `path "../etc": ".." segment`)
}

func TestChromiumScreenshots(t *testing.T) {
	t.Parallel()
	base := serveWorld(t)
	dir := artifactsDir(t)
	shots := []struct {
		file, path    string
		width, height int
	}{
		{"status.png", "/", 1280, 900},
		{"status-phone.png", "/", 400, 1800},
		{"status-mirror.png", "/mirrors/ohio", 1280, 1400},
		{"status-mirror-phone.png", "/mirrors/lyon", 400, 2400},
		{"status-object.png", "/objects?path=releases/1.0/os.iso", 1280, 900},
	}
	for _, s := range shots {
		file := filepath.Join(dir, s.file)
		screenshot(t, base+s.path, file, s.width, s.height)
		checkPNG(t, file, s.width, s.height)
	}
	if *updateDocs {
		data, err := os.ReadFile(filepath.Join(dir, "status.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "status.png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// serveWorld serves the test network's pages on loopback until the test ends.
func serveWorld(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(Handler(newWorld(t), testOptions()))
	t.Cleanup(srv.Close)
	return srv.URL
}

// headerLink returns the href of the column header labelled label.
func headerLink(t *testing.T, dom, label string) string {
	t.Helper()
	re := regexp.MustCompile(`<th scope="col"[^>]*><a href="([^"]*)"[^>]*>` + regexp.QuoteMeta(label) + `<`)
	m := re.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no header link labelled %q", label)
	}
	return html.UnescapeString(m[1])
}

// checkPNG fails unless file is a PNG of the given size.
func checkPNG(t *testing.T, file string, width, height int) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if cfg.Width != width || cfg.Height != height {
		t.Errorf("%s: %dx%d, want %dx%d", file, cfg.Width, cfg.Height, width, height)
	}
}

// artifactsDir is where tests leave files for people to look at:
// $PANDO_ARTIFACTS if set, else a directory removed after the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PANDO_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dumpDOM loads url and returns the DOM Chromium built.
func dumpDOM(t *testing.T, url string) string {
	t.Helper()
	return runChromium(t, "--dump-dom", url)
}

// screenshot loads url in a window of the given size and saves a PNG.
func screenshot(t *testing.T, url, file string, width, height int) {
	t.Helper()
	runChromium(t, "--hide-scrollbars", "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+file, url)
}

// runChromium runs headless Chromium with args and returns what it printed.
func runChromium(t *testing.T, args ...string) string {
	t.Helper()
	return chromiumtest.Run(t, args...)
}
