//go:build unix

package web

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

const exampleMirror = `{"mirrors": [{"url_prefix": "https://mirror.example/pub/", "weight": 10}]}`

func TestExamplePage(t *testing.T) {
	t.Parallel()
	base := site{mirrors: mirrorsJSON(exampleMirror)}.start(t)
	want := map[string]string{ // each link's href after the rewrite
		"Download the USB and DVD image": "https://mirror.example/pub/releases/1.0/example-os-1.0-amd64.iso",
		"OpenPGP signature":              "/releases/1.0/example-os-1.0-amd64.iso.sig",
	}
	dom := dumpDOM(t, base+"/example.html", load{})
	if p := parsePage(dom); p.state != "rewritten" {
		t.Errorf("data-pando-state = %q, want %q", p.state, "rewritten")
	}
	var name string
	for _, el := range elements(dom) {
		if el.tag == "a" {
			text := strings.Join(strings.Fields(el.text), " ")
			if w, ok := want[text]; !ok || el.attrs["href"] != w {
				t.Errorf("link %q: href = %q, want %q", text, el.attrs["href"], w)
			}
			delete(want, text)
		}
		if _, ok := el.attrs["data-pando-mirror-name"]; ok {
			name = el.text
		}
	}
	for text := range want {
		t.Errorf("no link %q on the example page", text)
	}
	if name != "mirror.example" {
		t.Errorf("mirror name = %q, want %q", name, "mirror.example")
	}
}

func TestExamplePageScreenshot(t *testing.T) {
	t.Parallel()
	base := site{mirrors: mirrorsJSON(exampleMirror)}.start(t)
	file := filepath.Join(artifactsDir(t), "web-example-page.png")
	os.Remove(file) // so that an old screenshot cannot pass
	screenshot(t, base+"/example.html", file, load{})
	img := decodePNG(t, file)
	if got := img.Bounds().Size(); got != image.Pt(800, 600) {
		t.Errorf("screenshot is %v, want 800x600", got)
	}
	if colors := distinctColors(img, 3); colors < 3 {
		t.Errorf("screenshot has %d colours; the page did not render", colors)
	}
	t.Logf("screenshot of the example page: %s", file)
}

func decodePNG(t *testing.T, file string) image.Image {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return img
}

// distinctColors counts the colours in img, stopping at max.
func distinctColors(img image.Image, max int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= max {
				return len(seen)
			}
		}
	}
	return len(seen)
}
