package upstream

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// counting serves fixed files and counts requests by protocol.
type counting struct {
	files    map[string]string
	requests atomic.Int64
	prefaces atomic.Int64 // h2c attempts an HTTP/1.1 server saw
	protos   atomic.Value
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == "PRI" { // an HTTP/1.1 server sees an h2c preface as a request
		c.prefaces.Add(1)
		http.Error(w, "no HTTP/2 here", http.StatusBadRequest)
		return
	}
	c.requests.Add(1)
	c.protos.Store(r.Proto)
	data, ok := c.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(data))
}

func h2cServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: &p}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// The signed log's files (checkpoint, journal) go over the http.Client:
// h2c where the server offers it, HTTP/1.1 otherwise.
func TestFirstRequestUsesH2CWhenOffered(t *testing.T) {
	h := &counting{files: map[string]string{"a": "hello"}}
	c, err := Dial(t.Context(), h2cServer(t, h), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body, _, _, err := c.get(t.Context(), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	body.Close()
	if string(data) != "hello" || h.requests.Load() != 1 || h.protos.Load() != "HTTP/2.0" {
		t.Errorf("got %q in %d requests over %v; want one HTTP/2 request", data, h.requests.Load(), h.protos.Load())
	}
}

func TestFallsBackToHTTP1(t *testing.T) {
	h := &counting{files: map[string]string{"a": "0123456789"}}
	srv := httptest.NewServer(h) // HTTP/1.1 only
	defer srv.Close()
	c, err := Dial(t.Context(), srv.URL, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2 {
		body, start, _, err := c.get(t.Context(), "a", 4)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		data, _ := io.ReadAll(body)
		body.Close()
		if string(data) != "456789" || start != 4 {
			t.Errorf("request %d: got %q from %d; want the range from 4", i, data, start)
		}
	}
	if n, p := h.requests.Load(), h.prefaces.Load(); n != 2 || p != 1 {
		t.Errorf("%d requests and %d h2c prefaces reached the HTTP/1.1 server, want 2 and 1 (h2c tried once, then never again)", n, p)
	}
}

func TestStatusAndStalls(t *testing.T) {
	stall := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	srv := httptest.NewServer(stall)
	defer srv.Close()
	c, _ := Dial(t.Context(), srv.URL, Config{IdleTimeout: 200 * time.Millisecond})
	defer c.Close()
	body, _, err := c.Open(t.Context(), "slow", 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.ReadAll(body)
	body.Close()
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("a stalled body must fail after the idle timeout: err %v after %v", err, time.Since(start))
	}

	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	c2, _ := Dial(t.Context(), missing.URL, Config{})
	defer c2.Close()
	_, _, err = c2.Open(t.Context(), "x", 0)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 404 || !strings.HasSuffix(se.URL, "/x") {
		t.Errorf("404: got %v, want a *StatusError naming the URL", err)
	}
}

func TestParseBase(t *testing.T) {
	for raw, want := range map[string]string{
		"http://h/repo":  "http://h/repo/",
		"https://h/":     "https://h/",
		"ftp://h/":       "error",
		"http://u:p@h/":  "error",
		"http://h/?q=1":  "error",
		"http:///nohost": "error",
	} {
		u, err := ParseBase(raw)
		got := "error"
		if err == nil {
			got = u.String()
		}
		if got != want {
			t.Errorf("ParseBase(%q) = %s, want %s", raw, got, want)
		}
	}
}
