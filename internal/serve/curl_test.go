package serve

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// curl runs the system curl (no curlrc, no proxy) and returns its stdout.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	args = append([]string{"-q", "--silent", "--show-error", "--noproxy", "*", "--max-time", "20"}, args...)
	cmd := exec.CommandContext(t.Context(), bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

func TestCurl(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	readOut := func() []byte {
		t.Helper()
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("range", func(t *testing.T) {
		got := curl(t, "-r", "100-199", "-o", out, "-w", "%{http_code} %{http_version} %{size_download}", s.url+"/data.bin")
		if got != "206 1.1 100" || !bytes.Equal(readOut(), tr.data[100:200]) {
			t.Errorf("curl -r 100-199: %q; want 206 over HTTP/1.1 with bytes 100-199", got)
		}
	})
	t.Run("range over h2c", func(t *testing.T) {
		got := curl(t, "--http2-prior-knowledge", "-r", "-50", "-o", out, "-w", "%{http_code} %{http_version}", s.url+"/data.bin")
		if got != "206 2" || !bytes.Equal(readOut(), tr.data[len(tr.data)-50:]) {
			t.Errorf("curl --http2-prior-knowledge -r -50: %q; want 206 over HTTP/2 with the last 50 bytes", got)
		}
	})
	t.Run("resume", func(t *testing.T) {
		writeFile(t, out, tr.data[:4321]) // an interrupted download
		got := curl(t, "-C", "-", "-o", out, "-w", "%{http_code}", s.url+"/data.bin")
		if got != "206" || !bytes.Equal(readOut(), tr.data) {
			t.Errorf("curl -C -: %q; want 206 and the whole file", got)
		}
	})
	t.Run("traversal", func(t *testing.T) {
		got := curl(t, "--path-as-is", "-o", out, "-w", "%{http_code}", s.url+"/pool/../../outside/secret.txt")
		if got != "400" || bytes.Contains(readOut(), []byte(outsideSecret)) {
			t.Errorf("curl --path-as-is /pool/../../outside/secret.txt: %q; want 400", got)
		}
	})
}
