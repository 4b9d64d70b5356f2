package redirect_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/redirect"

	"github.com/pando-mirror/pando/internal/keytest"
)

func hubKeys(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	seed := [32]byte{}
	copy(seed[:], name)
	s, v, _, _ := keytest.From(t, name, rand.NewChaCha8(seed))
	return s, v
}

// signedMap returns w's map created at unix second at, signed by s.
func signedMap(t testing.TB, w *availtest.World, at int64, s note.Signer) []byte {
	t.Helper()
	m := availability.Compile(w.Log, w.Mirrors, w.Latest, w.Objects, time.Unix(at, 0))
	data, err := availability.Encode(m, s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeMap(t *testing.T, name string, data []byte, mtime time.Time) {
	t.Helper()
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

func TestEdgeSourceFile(t *testing.T) {
	s, v := hubKeys(t, "hub.example.org")
	other, _ := hubKeys(t, "evil.example.org")
	w := newWorld(t)
	holdAll(w, mirror("one", "DE", 100, config.AccessHTTPS))
	first := signedMap(t, w, 1000, s)
	holdAll(w, mirror("two", "FR", 100, config.AccessHTTPS))
	second := signedMap(t, w, 2000, s)
	otherOrigin, err := availtest.New("other.example.org", testFiles)
	if err != nil {
		t.Fatal(err)
	}

	name := filepath.Join(t.TempDir(), "map")
	src := redirect.NewSource(name, v, nil)
	if _, err := src.Reload(t.Context()); !errors.Is(err, os.ErrNotExist) || src.Map() != nil {
		t.Fatalf("Reload of a missing file: %v", err)
	}
	base := time.Now().Add(-time.Hour)
	steps := []struct {
		name    string
		data    []byte
		changed bool
		err     string
		mirrors int
	}{
		{"first map", first, true, "", 1},
		{"unchanged", nil, false, "", 1},
		{"signed by another key", signedMap(t, w, 3000, other), false, "note has no verifiable signatures", 1},
		{"corrupt body", flipLast(second), false, "body does not match", 1},
		{"newer map", second, true, "", 2},
		{"older map", first, false, "map is older than the one in use", 2},
		{"another origin", signedMap(t, otherOrigin, 4000, s), false, `map for origin "other.example.org"`, 2},
		{"same bytes, new mtime", second, false, "", 2},
	}
	for i, st := range steps {
		if st.data != nil {
			writeMap(t, name, st.data, base.Add(time.Duration(i)*time.Minute))
		}
		changed, err := src.Reload(t.Context())
		if changed != st.changed || (err == nil) != (st.err == "") || err != nil && !strings.Contains(err.Error(), st.err) {
			t.Errorf("%s: changed %v, err %v; want %v, %q", st.name, changed, err, st.changed, st.err)
		}
		if m := src.Map(); m == nil || len(m.Mirrors()) != st.mirrors {
			t.Fatalf("%s: map in use %v, want one with %d mirrors", st.name, m, st.mirrors)
		}
	}
}

func flipLast(data []byte) []byte {
	c := bytes.Clone(data)
	c[len(c)-1] ^= 0xff
	return c
}

func TestEdgeSourceURL(t *testing.T) {
	s, v := hubKeys(t, "hub.example.org")
	w := newWorld(t)
	holdAll(w, mirror("one", "DE", 100, config.AccessHTTPS))
	var mu sync.Mutex
	current := signedMap(t, w, 1000, s)
	var gets, conditional atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		mu.Lock()
		data := current
		mu.Unlock()
		if r.Header.Get("If-None-Match") != "" {
			conditional.Add(1)
		}
		rw.Header().Set("ETag", fmt.Sprintf(`"%x"`, sha256.Sum256(data)))
		http.ServeContent(rw, r, "map", time.Unix(1700000000+int64(len(data)), 0), bytes.NewReader(data))
	}))
	defer srv.Close()
	src := redirect.NewSource(srv.URL+"/map", v, srv.Client())
	if changed, err := src.Reload(t.Context()); !changed || err != nil {
		t.Fatalf("first Reload: %v, %v", changed, err)
	}
	if changed, err := src.Reload(t.Context()); changed || err != nil {
		t.Fatalf("second Reload: %v, %v", changed, err)
	}
	holdAll(w, mirror("two", "FR", 100, config.AccessHTTPS))
	mu.Lock()
	current = signedMap(t, w, 2000, s)
	mu.Unlock()
	if changed, err := src.Reload(t.Context()); !changed || err != nil || len(src.Map().Mirrors()) != 2 {
		t.Fatalf("Reload after a change: %v, %v", changed, err)
	}
	if gets.Load() != 3 || conditional.Load() != 2 {
		t.Errorf("%d requests, %d with If-None-Match; want 3 and 2", gets.Load(), conditional.Load())
	}
	missing := redirect.NewSource(srv.URL+"/404", v, srv.Client())
	srv.Config.Handler = http.NotFoundHandler()
	if _, err := missing.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("Reload of a missing URL: %v", err)
	}
}

func TestEdgeSourceRun(t *testing.T) {
	s, v := hubKeys(t, "hub.example.org")
	w := newWorld(t)
	holdAll(w, mirror("one", "DE", 100, config.AccessHTTPS))
	name := filepath.Join(t.TempDir(), "map")
	writeMap(t, name, signedMap(t, w, 1000, s), time.Now().Add(-time.Minute))
	src := redirect.NewSource(name, v, nil)
	if _, err := src.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	var logs buftest.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		src.Run(ctx, 5*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	writeMap(t, name, []byte("garbage"), time.Now())
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "availability map refused") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	holdAll(w, mirror("two", "FR", 100, config.AccessHTTPS))
	writeMap(t, name, signedMap(t, w, 2000, s), time.Now().Add(time.Minute))
	for len(src.Map().Mirrors()) != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if out := logs.String(); !strings.Contains(out, "availability map refused") || !strings.Contains(out, "availability map loaded") ||
		len(src.Map().Mirrors()) != 2 {
		t.Errorf("Run logged:\n%s", out)
	}
}
