package serve

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pando-mirror/pando/internal/batch"
)

// postBatch sends a batch request with body and returns the answer.
func postBatch(t *testing.T, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/"+batch.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// TestBatch: a batch serves what GET serves for each path, in order, and
// nothing GET refuses: not a missing file, a directory, a symlink out of
// the tree or into the local state.
func TestBatch(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	asked := []struct {
		path string
		want []byte // nil: not served
	}{
		{"hello.txt", []byte("hello, world\n")},
		{"data.bin", tr.data},
		{"no/such/file", nil},
		{"latest.jar", tr.jar},   // a symlink to a file
		{"docs/a b.jar", tr.jar}, // through a symlink to a directory
		{"up-and-in", []byte("hello, world\n")},
		{"pool", nil},              // a directory
		{"escape-file", nil},       // a symlink out of the tree
		{"escape/secret.txt", nil}, // through one
		{"tolocal/secret", nil},    // into the local state
		{"chain/secret", nil},
		{"dangling", nil},
		{"pool/lib-1.0.pom", []byte("<project/>\n")},
	}
	var paths []string
	for _, a := range asked {
		paths = append(paths, a.path)
	}
	resp, data := postBatch(t, s.url, batch.AppendRequest(nil, paths))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != batch.ContentType {
		t.Fatalf("batch: %d %q, want 200 %q", resp.StatusCode, resp.Header.Get("Content-Type"), batch.ContentType)
	}
	if bytes.Contains(data, []byte(outsideSecret)) || bytes.Contains(data, []byte(localSecret)) {
		t.Fatal("a batch answer holds a secret")
	}
	r := batch.NewReader(bytes.NewReader(data), 1<<20)
	for _, a := range asked {
		size, ok, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", a.path, err)
		}
		if ok != (a.want != nil) {
			t.Errorf("%s: served %v, want %v", a.path, ok, a.want != nil)
			continue
		}
		got, err := io.ReadAll(r)
		if err != nil || size != int64(len(got)) || !bytes.Equal(got, a.want) {
			t.Errorf("%s: %d bytes (size %d, %v), want %d", a.path, len(got), size, err, len(a.want))
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last entry: %v, want the end", err)
	}

	// An empty request asks only whether batches are answered.
	if resp, data := postBatch(t, s.url, batch.AppendRequest(nil, nil)); resp.StatusCode != http.StatusOK || len(data) != 0 {
		t.Errorf("empty batch: %d with %d bytes, want 200 with none", resp.StatusCode, len(data))
	}
}

func TestBatchRefusesBadRequests(t *testing.T) {
	s := serveTree(t, newTree(t), Config{})
	for _, tc := range []struct {
		name string
		body []byte
		code int
	}{
		{"not a batch", []byte("hello.txt\n"), http.StatusBadRequest},
		{"traversal", batch.AppendRequest(nil, []string{"../outside/secret.txt"}), http.StatusBadRequest},
		{"local state by name", batch.AppendRequest(nil, []string{".pando/local/secret"}), http.StatusBadRequest},
		{"too many paths", batch.AppendRequest(nil, strings.Split(strings.Repeat("a,", batch.MaxPaths+1), ",")[:batch.MaxPaths+1]), http.StatusBadRequest},
		{"too large", append(batch.AppendRequest(nil, nil), bytes.Repeat([]byte("a\n"), batch.MaxRequest)...), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, data := postBatch(t, s.url, tc.body)
			if resp.StatusCode != tc.code {
				t.Errorf("%d, want %d", resp.StatusCode, tc.code)
			}
			if bytes.Contains(data, []byte(outsideSecret)) || bytes.Contains(data, []byte(localSecret)) {
				t.Error("a refusal holds a secret")
			}
		})
	}
	// Batches are asked for by POST only; anything else there is a path
	// like any other, which no tree holds.
	if resp, _ := fetch(t, client(t), "GET", s.url+"/"+batch.Path, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET %s = %d, want 404", batch.Path, resp.StatusCode)
	}
}
