//go:build unix

package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// unusableMirrors are mirror entries pando-mirrors.js must never choose,
// each with the largest weight so that any of them would win if counted.
var unusableMirrors = []string{
	`{"url_prefix": "javascript:alert(1)//", "weight": 1000000}`,
	`{"url_prefix": " JavaScript:alert(1)//", "weight": 1000000}`,
	`{"url_prefix": "data:text/html,<script>alert(1)</script>", "weight": 1000000}`,
	`{"url_prefix": "ftp://evil.example/pub/", "weight": 1000000}`,
	`{"url_prefix": "//evil.example/relative/", "weight": 1000000}`,
	`{"url_prefix": "evil.example/no-scheme/", "weight": 1000000}`,
	`{"url_prefix": "https://user:pw@evil.example/", "weight": 1000000}`,
	`{"url_prefix": "https://evil.example/?q=", "weight": 1000000}`,
	`{"url_prefix": "https://evil.example/?", "weight": 1000000}`,
	`{"url_prefix": "https://evil.example/#frag", "weight": 1000000}`,
	`{"url_prefix": "https://evil.example/zero/", "weight": 0}`,
	`{"url_prefix": "https://evil.example/negative/", "weight": -5}`,
	`{"url_prefix": "https://evil.example/string/", "weight": "10"}`,
	`{"url_prefix": "https://evil.example/fraction/", "weight": 1.5}`,
	`{"url_prefix": "https://evil.example/huge/", "weight": 1000001}`,
	`{"url_prefix": "https://evil.example/null/", "weight": null}`,
	`{"url_prefix": 42, "weight": 10}`,
	`{"weight": 10}`,
	`null`,
	`"https://evil.example/bare-string/"`,
}

func mirrorList(entries ...string) string {
	return `{"mirrors": [` + strings.Join(entries, ",\n") + `]}`
}

func TestRewrite(t *testing.T) {
	lowDraw := seedWithDraw(t, 0, 0.01) // aims at the first entry
	withUnusable := append(append([]string{}, unusableMirrors...), `{"url_prefix": "https://good.example/files/", "weight": 1}`)
	tests := []struct {
		name    string
		mirrors http.Handler
		page    testPage
		tls     bool
		want    string // the url_prefix chosen; "" for the fall-back
	}{
		{
			name:    "one mirror; its prefix gains a slash and paths are escaped",
			mirrors: mirrorsJSON(mirrorList(`{"url_prefix": "https://m1.example/pub", "weight": 10, "country": "DE"}`)),
			want:    "https://m1.example/pub/",
		},
		{
			name:    "an entry without weight has the default weight",
			mirrors: mirrorsJSON(mirrorList(`{"url_prefix": "http://m2.example:8080/a%20b/"}`)),
			want:    "http://m2.example:8080/a%20b/",
		},
		{
			name:    "unusable entries are never chosen",
			mirrors: mirrorsJSON(mirrorList(withUnusable...)),
			page:    testPage{scriptAttrs: fmt.Sprintf(`%s data-pando-seed="%d"`, defaultScriptAttrs, lowDraw)},
			want:    "https://good.example/files/",
		},
		{
			name: "an https page never uses an http mirror",
			mirrors: mirrorsJSON(mirrorList(
				`{"url_prefix": "http://plain.example/", "weight": 1000000}`,
				`{"url_prefix": "https://secure.example/", "weight": 1}`)),
			page: testPage{scriptAttrs: fmt.Sprintf(`%s data-pando-seed="%d"`, defaultScriptAttrs, lowDraw)},
			tls:  true,
			want: "https://secure.example/",
		},
		{
			name:    "called by the page, with the mirror list as an option",
			mirrors: mirrorsJSON(mirrorList(`{"url_prefix": "https://m3.example/", "weight": 1}`)),
			page: testPage{
				scriptAttrs: "data-pando-manual",
				extra: `<script>document.addEventListener("DOMContentLoaded", function () {
					PandoMirrors.rewrite({mirrorsJSON: "/m/mirrors.json"});
				});</script>`,
			},
			want: "https://m3.example/",
		},
		{name: "mirror list answers 500", mirrors: failing(http.StatusInternalServerError)},
		{name: "mirror list answers 404", mirrors: failing(http.StatusNotFound)},
		{name: "invalid JSON", mirrors: mirrorsJSON(`{"mirrors": [{"url_prefix": "https://m1.example/"`)},
		{name: "JSON that is a list", mirrors: mirrorsJSON(`[{"url_prefix": "https://m1.example/"}]`)},
		{name: "mirrors that are not a list", mirrors: mirrorsJSON(`{"mirrors": {"url_prefix": "https://m1.example/"}}`)},
		{name: "no mirrors", mirrors: mirrorsJSON(mirrorList())},
		{name: "only unusable mirrors", mirrors: mirrorsJSON(mirrorList(unusableMirrors...))},
		{
			name:    "an https page with only http mirrors",
			mirrors: mirrorsJSON(mirrorList(`{"url_prefix": "http://plain.example/", "weight": 1}`)),
			tls:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := site{page: tt.page, mirrors: tt.mirrors, tls: tt.tls}.start(t)
			p := parsePage(dumpDOM(t, base+"/page.html", load{insecure: tt.tls}))
			if tt.want == "" {
				checkFallback(t, p)
			} else {
				checkRewritten(t, p, tt.want)
			}
		})
	}
}

// checkRewritten checks that p's download links point at the mirror prefix
// and that nothing else changed.
func checkRewritten(t *testing.T, p page, prefix string) {
	t.Helper()
	if p.state != "rewritten" {
		t.Errorf("data-pando-state = %q, want %q", p.state, "rewritten")
	}
	for _, l := range goodLinks {
		if got, want := p.href(l.id), prefix+l.escaped; got != want {
			t.Errorf("link #%s: href = %q, want %q", l.id, got, want)
		}
	}
	checkKept(t, p, badLinks)
	u, err := url.Parse(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.byID["name"].text; got != u.Host {
		t.Errorf("mirror name = %q, want %q", got, u.Host)
	}
}

// checkFallback checks that p is in the fall-back state, unchanged.
func checkFallback(t *testing.T, p page) {
	t.Helper()
	if p.state != "fallback" {
		t.Errorf("data-pando-state = %q, want %q", p.state, "fallback")
	}
	checkKept(t, p, goodLinks)
	checkKept(t, p, badLinks)
	if got := p.byID["name"].text; got != hubName {
		t.Errorf("mirror name = %q, want %q", got, hubName)
	}
}

// checkKept checks that links, and the link that is not a download, still
// point at the hub.
func checkKept(t *testing.T, p page, links []link) {
	t.Helper()
	for _, l := range append(links, link{id: "plain"}) {
		if got, want := p.href(l.id), hubHref(l.id); got != want {
			t.Errorf("link #%s (path %q): href = %q, want it kept as %q", l.id, l.path, got, want)
		}
	}
}

// TestSlowMirrorList checks that a mirror list that does not come within
// the 3 s timeout is given up (its request aborted) and the links kept.
//
// Chromium's virtual time stands still while a request is pending, so this
// page loads in real time; an image on the page that the server holds until
// the mirror list request is aborted keeps the page loading until then.
func TestSlowMirrorList(t *testing.T) {
	t.Parallel()
	aborted := make(chan struct{})
	var once sync.Once
	stop := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			once.Do(func() { close(aborted) })
		case <-stop:
		case <-time.After(30 * time.Second):
		}
	})
	hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-aborted:
		case <-stop:
		case <-time.After(15 * time.Second):
		}
		http.NotFound(w, r)
	})
	base := site{page: testPage{extra: `<img src="/hold.png" alt="">`}, mirrors: slow, hold: hold}.start(t)
	t.Cleanup(func() { close(stop) }) // before the server closes

	start := time.Now()
	p := parsePage(dumpDOM(t, base+"/page.html", load{realTime: true}))
	checkFallback(t, p)
	select {
	case <-aborted:
	default:
		t.Errorf("the mirror list request was not aborted (page took %v)", time.Since(start))
	}
}
