package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pando-mirror/pando/internal/redirect"
)

// BenchmarkWrap is what counting costs a redirect: the wrapped handler
// against the bare one.
func BenchmarkWrap(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirect.RecordAnswer(w, redirect.Answer{Path: "pool/a.iso", Mirror: "m1"})
		w.Header().Set("Location", "https://m1.example/pub/pool/a.iso")
		w.WriteHeader(http.StatusFound)
	})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"wrapped", Wrap(bare, New())},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/pool/a.iso", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
