package redirect_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/redirect"
)

// TestQuickMatchesServeHTTP checks that Quick answers exactly the requests
// it should, and those exactly as ServeHTTP does: the same headers (but
// Content-Length), the same mirror for the same random draws, and the same
// Answer.
func TestQuickMatchesServeHTTP(t *testing.T) {
	w := newWorld(t)
	holdAll(w, mirror("de", "DE", 100, config.AccessHTTP, config.AccessHTTPS))
	holdAll(w, mirror("fr", "FR", 300, config.AccessHTTPS))
	holdAll(w, mirror("us", "US", 100, config.AccessHTTP))
	holdAll(w, mirror("jp", "JP", 200, config.AccessHTTPS))
	if err := w.Link("latest.iso", "pool/a.iso"); err != nil {
		t.Fatal(err)
	}
	m := w.Map().WithFallback("https://origin.example/pub/")
	unchecked := *w
	unchecked.Latest = nil
	db := geoDB(t)
	opts := redirect.Options{Candidates: 2, TrustedProxies: loopback}

	for _, tt := range []struct {
		name         string
		world        *availtest.World
		method       string
		target, peer string
		header       http.Header
		quick        bool
	}{
		{"GET of an object", w, "GET", "/pool/a.iso", "127.0.0.1", http.Header{"X-Forwarded-For": {"127.0.1.9"}}, true},
		{"HEAD of an object", w, "HEAD", "/pool/b.jar", "127.0.0.1", nil, true},
		{"deep path", w, "GET", "/deep/er/still/f.bin", "127.0.0.1", nil, true},
		{"an object whose name ends in .meta4", w, "GET", "/x.iso.meta4", "127.0.0.1", nil, true},
		{"https through a trusted proxy", w, "GET", "/pool/a.iso", "127.0.0.1",
			http.Header{"X-Forwarded-For": {"127.0.3.1, 127.0.1.9"}, "X-Forwarded-Proto": {"https"}}, true},
		{"forwarded headers of an untrusted peer", w, "GET", "/pool/a.iso", "127.0.0.2",
			http.Header{"X-Forwarded-For": {"127.0.1.9"}, "X-Forwarded-Proto": {"https"}}, true},
		{"an IPv6 peer", w, "GET", "/new.txt", "::1", nil, true},
		{"POST", w, "POST", "/pool/a.iso", "127.0.0.1", nil, false},
		{"mirror list", w, "GET", "/pool/a.iso?mirrorlist", "127.0.0.1", nil, false},
		{"empty query", w, "GET", "/pool/a.iso?", "127.0.0.1", nil, false},
		{"metalink", w, "GET", "/pool/a.iso.meta4", "127.0.0.1", nil, false},
		{"percent-encoded", w, "GET", "/dir/x%20y+z%25.txt", "127.0.0.1", nil, false},
		{"encoded letter", w, "GET", "/pool/%61.iso", "127.0.0.1", nil, false},
		{"directory", w, "GET", "/pool/", "127.0.0.1", nil, false},
		{"root", w, "GET", "/", "127.0.0.1", nil, false},
		{"dot segments", w, "GET", "/pool/../pool/a.iso", "127.0.0.1", nil, false},
		{"empty segment", w, "GET", "/pool//a.iso", "127.0.0.1", nil, false},
		{"through a symlink", w, "GET", "/latest.iso", "127.0.0.1", nil, false},
		{"no such object", w, "GET", "/no/such.iso", "127.0.0.1", nil, false},
		{"mirrors.json", w, "GET", "/mirrors.json", "127.0.0.1", nil, false},
		{"absolute form", w, "GET", "http://hub/pool/a.iso", "127.0.0.1", nil, false},
		{"held by no mirror yet", &unchecked, "GET", "/pool/a.iso", "127.0.0.1", nil, false},
	} {
		mm := m
		if tt.world != w {
			mm = tt.world.Map().WithFallback("https://origin.example/pub/")
		}
		withRand := func(seed uint64) *redirect.Redirector {
			o := opts
			o.Rand = seeded(seed)
			return redirect.Handler(staticSource(mm), db, o)
		}
		for seed := range uint64(8) {
			req := httptest.NewRequest(tt.method, "http://hub/", nil)
			req.RequestURI, req.URL = tt.target, mustParseRequestURI(t, tt.target)
			req.RemoteAddr = netip.AddrPortFrom(mustAddr(tt.peer), 5000).String()
			req.Header = tt.header.Clone()
			if req.Header == nil {
				req.Header = http.Header{}
			}
			rec := httptest.NewRecorder()
			aw := &answerWriter{ResponseWriter: rec}
			withRand(seed).ServeHTTP(aw, req)

			got := http.Header{}
			q := &redirect.QuickRequest{Method: tt.method, Target: tt.target, Peer: mustAddr(tt.peer),
				Header: func(name string) []string { return req.Header.Values(name) }}
			answer, ok := withRand(seed).Quick(q, func(k string, v []byte) { got.Add(k, string(v)) })
			if ok != tt.quick {
				t.Fatalf("%s: Quick answered %v, want %v (ServeHTTP: %d %v)", tt.name, ok, tt.quick, rec.Code, rec.Header())
			}
			if !ok {
				if len(got) != 0 {
					t.Errorf("%s: Quick declined but set %v", tt.name, got)
				}
				continue
			}
			want := rec.Header()
			want.Del("Content-Length")
			if rec.Code != http.StatusFound || !equalHeader(got, want) {
				t.Errorf("%s, seed %d: Quick set %v; ServeHTTP answered %d %v", tt.name, seed, got, rec.Code, want)
			}
			if len(aw.answers) != 1 || answer != aw.answers[0] {
				t.Errorf("%s, seed %d: Quick's answer %+v, ServeHTTP's %+v", tt.name, seed, answer, aw.answers)
			}
		}
	}
}

func mustParseRequestURI(t *testing.T, target string) *url.URL {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatalf("%q: %v", target, err)
	}
	return u
}

// FuzzQuickPath checks that a target Quick takes literally names the path
// net/http's parsing would give the Handler, so that the two cannot answer
// differently.
func FuzzQuickPath(f *testing.F) {
	for _, s := range []string{"/pool/a.iso", "/a%20b", "/a?b", "/a/../b", "/ä/ö", "//a", "/a#b", "/a;b=c", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		p, ok := redirect.QuickPathForTest(target)
		if !ok {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatalf("quick path %q of %q, which net/url refuses: %v", p, target, err)
		}
		hp, dir, err := redirect.RequestPathForTest(u)
		if hp != p || dir || err != nil || u.RawQuery != "" || u.ForceQuery {
			t.Fatalf("quick path %q of %q; the Handler's %q (dir %v, %v), query %q", p, target, hp, dir, err, u.RawQuery)
		}
	})
}

func BenchmarkQuick(b *testing.B) {
	h := redirect.Handler(staticSource(headerWorld(b)), geoDB(b), redirect.Options{Candidates: 5, TrustedProxies: loopback})
	xff := []string{"127.0.2.3"}
	req := &redirect.QuickRequest{Method: "GET", Target: "/pool/a.iso", Peer: mustAddr("127.0.0.1"),
		Header: func(string) []string { return xff }}
	n := 0
	set := func(k string, v []byte) { n += len(v) }
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := h.Quick(req, set); !ok {
			b.Fatal("Quick declined")
		}
	}
}
