package get

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/publish"
	"github.com/pando-mirror/pando/internal/serve"

	"github.com/pando-mirror/pando/internal/keytest"
)

// testTree is a published tree signed by a fresh origin key.
type testTree struct {
	root     string
	signer   note.Signer
	verifier note.Verifier
}

func newKey(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	return keytest.New(t, name)
}

func newTestTree(t *testing.T, files map[string]string) *testTree {
	t.Helper()
	tt := &testTree{root: t.TempDir()}
	tt.signer, tt.verifier = newKey(t, "repo.example.org")
	tt.write(t, files)
	tt.publish(t)
	return tt
}

func (tt *testTree) write(t *testing.T, files map[string]string) {
	t.Helper()
	for p, data := range files {
		name := filepath.Join(tt.root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (tt *testTree) publish(t *testing.T) {
	t.Helper()
	_, err := publish.Publish(context.Background(), publish.Options{Root: tt.root, Signer: tt.signer, Verifier: tt.verifier})
	if err != nil {
		t.Fatal(err)
	}
}

func (tt *testTree) file(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tt.root, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// serveTree serves root on loopback, through wrap if it is not nil, and
// returns the base URL ending in "/".
func serveTree(t *testing.T, root string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var h http.Handler = serve.Handler(r, serve.Options{})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// reqLog records the requests a handler sees.
type reqLog struct {
	mu   sync.Mutex
	reqs []loggedReq
}

type loggedReq struct{ path, query, rng string }

func (l *reqLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, loggedReq{r.URL.Path, r.URL.RawQuery, r.Header.Get("Range")})
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// downloads returns the logged requests for path without a query (a
// mirror-list request to a plain server is not a download).
func (l *reqLog) downloads(path string) []loggedReq {
	var out []loggedReq
	for _, r := range l.matching(path) {
		if r.path == path && r.query == "" {
			out = append(out, r)
		}
	}
	return out
}

// matching returns the logged requests whose path has the prefix.
func (l *reqLog) matching(prefix string) []loggedReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loggedReq
	for _, r := range l.reqs {
		if strings.HasPrefix(r.path, prefix) {
			out = append(out, r)
		}
	}
	return out
}
