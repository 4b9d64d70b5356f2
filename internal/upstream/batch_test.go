package upstream

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pando-mirror/pando/internal/batch"
)

// batchServer answers batch requests from files, as pando serve does, and
// counts them; status, when set, is the answer to every request instead.
type batchServer struct {
	files    map[string]string
	status   atomic.Int64
	requests atomic.Int64
}

func (s *batchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if code := s.status.Load(); code != 0 {
		http.Error(w, "no", int(code))
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/repo/"+batch.Path {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	paths, err := batch.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", batch.ContentType)
	bw := bufio.NewWriter(w)
	out := batch.NewWriter(bw)
	for _, p := range paths {
		if data, ok := s.files[p]; ok {
			out.File(int64(len(data)), strings.NewReader(data))
		} else {
			out.Missing()
		}
	}
	bw.Flush()
}

func TestBatch(t *testing.T) {
	s := &batchServer{files: map[string]string{"a": "alpha", "dir/b": "beta", "big": strings.Repeat("x", 100)}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, _ := Dial(t.Context(), srv.URL+"/repo/", Config{})
	defer c.Close()
	if !c.Batches(t.Context()) {
		t.Fatal("a server answering batches is taken not to")
	}
	r, err := c.Batch(t.Context(), []string{"a", "missing", "dir/b", "big"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, want := range []string{"alpha", "", "beta"} {
		size, ok, err := r.Next()
		if err != nil || ok != (want != "") || size != int64(len(want)) {
			t.Fatalf("entry for %q: size %d ok %v err %v", want, size, ok, err)
		}
		if got, _ := io.ReadAll(r); string(got) != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	_, _, err = r.Next()
	if err == nil || !strings.Contains(err.Error(), srv.URL+"/repo/"+batch.Path) || !strings.Contains(err.Error(), "more than the 10") {
		t.Errorf("an entry over the limit: %v, want an error naming the URL and the limit", err)
	}
}

// TestNoBatch: a server that is not a pando server is asked once; a server
// failing for a while is asked again.
func TestNoBatch(t *testing.T) {
	s := &batchServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, _ := Dial(t.Context(), srv.URL+"/elsewhere/", Config{}) // 404 for the batch path
	defer c.Close()
	for range 3 {
		if c.Batches(t.Context()) {
			t.Fatal("a server without batches is taken to answer them")
		}
		if _, err := c.Batch(t.Context(), []string{"a"}, 10); !errors.Is(err, ErrNoBatch) {
			t.Fatalf("batch from a server without them: %v, want ErrNoBatch", err)
		}
	}
	if n := s.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the answer is remembered", n)
	}

	s.status.Store(http.StatusServiceUnavailable)
	c2, _ := Dial(t.Context(), srv.URL+"/repo/", Config{})
	defer c2.Close()
	var se *StatusError
	if _, err := c2.Batch(t.Context(), []string{"a"}, 10); !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("batch from a failing server: %v, want a 503 *StatusError", err)
	}
	s.status.Store(0)
	if !c2.Batches(t.Context()) {
		t.Error("a server that failed once is not asked again")
	}
}
