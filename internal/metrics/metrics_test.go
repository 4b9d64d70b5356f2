package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pando-mirror/pando/internal/check"
	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/internal/store"
)

func TestMetricsObservePass(t *testing.T) {
	m := New()
	lag := int64(30)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rep := &check.Report{Started: start, Finished: start.Add(2 * time.Second),
		Origin: check.OriginReport{Records: 42, AgeSeconds: 7},
		Mirrors: []check.MirrorReport{
			{Name: "good", OK: true, LagSeconds: &lag},
			{Name: "bad", Problems: []check.Problem{{Kind: store.Hash}, {Kind: store.Hash}, {Kind: store.Missing}}},
		}}
	m.ObservePass(rep)
	m.ObservePass(nil)
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"passes", testutil.ToFloat64(m.passes), 1},
		{"ok good", testutil.ToFloat64(m.mirrorOK.WithLabelValues("good")), 1},
		{"ok bad", testutil.ToFloat64(m.mirrorOK.WithLabelValues("bad")), 0},
		{"lag good", testutil.ToFloat64(m.mirrorLag.WithLabelValues("good")), 30},
		{"hash bad", testutil.ToFloat64(m.problems.WithLabelValues("bad", "hash")), 2},
		{"missing bad", testutil.ToFloat64(m.problems.WithLabelValues("bad", "missing")), 1},
		{"origin records", testutil.ToFloat64(m.originRecs), 42},
		{"origin age", testutil.ToFloat64(m.originAge), 7},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.passDuration); n != 1 {
		t.Errorf("pass duration series = %d, want 1", n)
	}
}

func TestMetricsPassResetsRemovedMirrors(t *testing.T) {
	m := New()
	m.ObservePass(&check.Report{Mirrors: []check.MirrorReport{{Name: "gone", Problems: []check.Problem{{Kind: store.Hash}}}}})
	m.ObservePass(&check.Report{Mirrors: []check.MirrorReport{{Name: "kept", OK: true}}})
	if n := testutil.CollectAndCount(m.problems); n != 0 {
		t.Errorf("problem series after the mirror went = %d, want 0", n)
	}
	if n := testutil.CollectAndCount(m.mirrorOK); n != 1 {
		t.Errorf("ok series = %d, want 1", n)
	}
}

func TestMetricsWrap(t *testing.T) {
	m := New()
	// A stand-in for the redirector: it tells the writers it was given where
	// an object went, as redirect.Handler does, here through a wrapper of
	// its own.
	answer := func(w http.ResponseWriter, mirror string) {
		redirect.RecordAnswer(&wrapped{w}, redirect.Answer{Mirror: mirror})
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a.tar.gz":
			answer(w, "m1")
			http.Redirect(w, r, "https://m1.example/pub/a.tar.gz", http.StatusFound)
		case "/b.tar.gz": // the fall-back
			answer(w, "")
			http.Redirect(w, r, "https://elsewhere.example/b.tar.gz", http.StatusFound)
		case "/mirrors.json":
			w.Write([]byte("{}"))
		default:
			http.NotFound(w, r)
		}
	})
	srv := Wrap(h, m)
	for _, p := range []string{"/a.tar.gz", "/a.tar.gz", "/b.tar.gz", "/missing", "/mirrors.json"} {
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"m1 redirects", testutil.ToFloat64(m.redirects.WithLabelValues("m1", "redirect")), 2},
		{"unknown redirects", testutil.ToFloat64(m.redirects.WithLabelValues("", "redirect")), 1},
		{"not found", testutil.ToFloat64(m.redirects.WithLabelValues("", "not_found")), 1},
		{"object 3xx", testutil.ToFloat64(m.requests.WithLabelValues("object", "3xx")), 3},
		{"api 2xx", testutil.ToFloat64(m.requests.WithLabelValues("api", "2xx")), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if Wrap(h, nil) == nil {
		t.Error("Wrap with nil metrics returned nil")
	}
}

// wrapped is a writer that wraps another and says so.
type wrapped struct{ http.ResponseWriter }

func (w *wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestMetricsHandlerServesText(t *testing.T) {
	m := New()
	m.ObserveRedirect("m1", "redirect")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `pando_redirects_total{mirror="m1",result="redirect"} 1`) {
		t.Errorf("GET /metrics: %d\n%s", rec.Code, body)
	}
	if strings.Contains(body, "go_goroutines") {
		t.Error("the registry should hold only pando metrics")
	}
}

func TestMetricsStatusClass(t *testing.T) {
	cases := map[int]string{200: "2xx", 302: "3xx", 404: "4xx", 503: "5xx", 0: "other", 99: "other", 600: "other"}
	for code, want := range cases {
		if got := StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", code, got, want)
		}
	}
}

func TestMetricsRequestKind(t *testing.T) {
	cases := []struct{ method, target, want string }{
		{"GET", "/pool/a.tar.gz", "object"},
		{"HEAD", "/pool/a.tar.gz", "object"},
		{"POST", "/pool/a.tar.gz", "other"},
		{"GET", "/pool/a.tar.gz?mirrorlist", "mirrorlist"},
		{"GET", "/pool/a.tar.gz.meta4", "metalink"},
		{"GET", "/mirrors.json", "api"},
		{"GET", "/api/v1/status", "api"},
		{"GET", "/metrics", "metrics"},
		{"GET", "/", "other"},
	}
	for _, c := range cases {
		if got := RequestKind(httptest.NewRequest(c.method, c.target, nil)); got != c.want {
			t.Errorf("RequestKind(%s %s) = %q, want %q", c.method, c.target, got, c.want)
		}
	}
}
