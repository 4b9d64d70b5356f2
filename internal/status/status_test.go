package status

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pando-mirror/pando/internal/store"
)

func TestOverviewShowsEveryMirror(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	code, page := get(t, h, "/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d", code)
	}
	text := visibleText(page)
	for name, state := range wantStates {
		r := row(page, name)
		if r == "" {
			t.Errorf("no row for mirror %s", name)
			continue
		}
		if got := visibleText(r); !strings.HasPrefix(got, name+" "+state+" ") {
			t.Errorf("row of %s reads %q, want it to start with %q", name, got, name+" "+state)
		}
	}
	order := rowOrder(page)
	if len(order) == 0 || order[0] != "lyon" {
		t.Errorf("rows in order %v, want the tampered mirror lyon first", order)
	}
	lyon := row(page, "lyon")
	mustContain(t, "tampered row", lyon, `class="row tampered alert"`, "tampered (wrong content)", `href="#i-alert"`)
	mustContain(t, "page", text,
		"repo.example.org", "3 records", "2 h ago", // the origin's checkpoint and its age
		"Mirrors 7: 1 healthy, 4 needing attention",
		"A mirror serves tampered data or a log that contradicts the origin's.", "until a check comes back clean: lyon (tampered).")
	mustContain(t, "ohio", visibleText(row(page, "ohio")), "http up", "2 of 3", "1 d 6 h", "67 %", "stale")
	mustContain(t, "osaka", visibleText(row(page, "osaka")), "https down", "ftp down", "unreachable ×2")
	mustContain(t, "saopaulo", visibleText(row(page, "saopaulo")), "expires 2025-03-19", "certificate", "10 %")
	mustContain(t, "berlin", visibleText(row(page, "berlin")), "https up", "rsync up", "3 (current)", "100 %", "2025-06-02", "DE", "300", "70 % (700)")
	mustContain(t, "nairobi", visibleText(row(page, "nairobi")), "https not checked")
	mustContain(t, "oslo", visibleText(row(page, "oslo")), "0 (disabled)")
}

func TestOverviewSortAndFilter(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"lyon", "osaka", "ohio", "saopaulo", "nairobi", "oslo", "berlin"}},
		{"?sort=name", []string{"berlin", "lyon", "nairobi", "ohio", "osaka", "oslo", "saopaulo"}},
		{"?sort=name&dir=desc", []string{"saopaulo", "oslo", "osaka", "ohio", "nairobi", "lyon", "berlin"}},
		{"?sort=lag", []string{"ohio", "lyon", "saopaulo", "berlin", "osaka", "nairobi", "oslo"}},         // unknown last
		{"?sort=lag&dir=asc", []string{"lyon", "saopaulo", "berlin", "ohio", "osaka", "nairobi", "oslo"}}, // unknown still last
		{"?sort=complete", []string{"ohio", "lyon", "saopaulo", "berlin", "osaka", "nairobi", "oslo"}},
		{"?sort=weight", []string{"berlin", "lyon", "osaka", "ohio", "nairobi", "saopaulo", "oslo"}},
		{"?sort=tls", []string{"saopaulo", "lyon", "berlin", "osaka", "ohio", "nairobi", "oslo"}},
		{"?sort=redirects", []string{"berlin", "ohio", "saopaulo", "lyon", "osaka", "nairobi", "oslo"}},
		{"?sort=country&dir=asc", []string{"saopaulo", "berlin", "lyon", "osaka", "nairobi", "oslo", "ohio"}},
		{"?filter=healthy", []string{"berlin"}},
		{"?filter=problems", []string{"lyon", "osaka", "ohio", "saopaulo"}},
		{"?q=lyon", []string{"lyon"}},
		{"?q=jp", []string{"osaka"}}, // a country code
		{"?q=o&filter=problems&sort=name", []string{"lyon", "ohio", "osaka", "saopaulo"}},
		{"?sort=bogus&dir=sideways&filter=nonsense", []string{"lyon", "osaka", "ohio", "saopaulo", "nairobi", "oslo", "berlin"}},
	} {
		code, page := get(t, h, "/"+tc.query)
		if code != http.StatusOK {
			t.Errorf("GET /%s: %d", tc.query, code)
			continue
		}
		if got := rowOrder(page); !slices.Equal(got, tc.want) {
			t.Errorf("GET /%s: rows %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestOverviewSortLinks(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	_, page := get(t, h, "/?filter=problems&q=o")
	// Each header links to the table sorted by it, keeping the filter.
	mustContain(t, "headers", page,
		`<th scope="col" aria-sort="ascending"><a href="/?dir=desc&amp;filter=problems&amp;q=o&amp;sort=state"`,
		`<th scope="col" aria-sort="none"><a href="/?dir=desc&amp;filter=problems&amp;q=o&amp;sort=lag"`,
		`<th scope="col" aria-sort="none"><a href="/?dir=asc&amp;filter=problems&amp;q=o&amp;sort=name"`,
		`<option value="problems" selected>`, `value="o"`, `<a class="reset" href="/">Show all</a>`)
	_, page = get(t, h, "/?sort=lag")
	mustContain(t, "sorted by lag", page, `aria-sort="descending"><a href="/?dir=asc&amp;sort=lag"`,
		`<label for="filter">`, `<label for="q">`, `<input type="hidden" name="sort" value="lag">`)
}

func TestOverviewWithoutOrigin(t *testing.T) {
	w := newWorld(t)
	w.origin, w.redirects = nil, nil
	code, page := get(t, Handler(w, testOptions()), "/")
	if code != http.StatusOK {
		t.Fatalf("GET /: %d", code)
	}
	mustContain(t, "page", visibleText(page), "not read yet", "berlin Healthy")
	mustNotContain(t, "page", page, "Redirects") // not counted: no column
}

func TestOverviewEscapes(t *testing.T) {
	w := newWorld(t)
	w.cfg.Mirrors[0].Country = `<script>alert(1)</script>`
	w.cfg.Mirrors[0].Notes = `<img src=x onerror=alert(1)>`
	h := Handler(w, testOptions())
	_, page := get(t, h, `/?q=%3Cscript%3Ex`)
	mustNotContain(t, "query", page, "<script")
	mustContain(t, "query", page, `value="&lt;script&gt;x"`)
	_, page = get(t, h, `/`)
	mustNotContain(t, "overview", page, "<script")
	mustContain(t, "overview", page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	_, page = get(t, h, `/mirrors/berlin`)
	mustNotContain(t, "mirror", page, "<script", "<img")
	mustContain(t, "mirror", page, "&lt;img src=x onerror=alert(1)&gt;")
}

func TestMirrorPage(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	code, page := get(t, h, "/mirrors/lyon")
	if code != http.StatusOK {
		t.Fatalf("GET /mirrors/lyon: %d", code)
	}
	text := visibleText(page)
	mustContain(t, "lyon", text, "Mirror lyon Tampered", "tampered (wrong content)", isoPath, sum("not the image"),
		"https https://lyon.example/pub/ up no 3", "1 object with the wrong content", "admin@lyon.example",
		"Recent checks", "https: problems, 3 records, lag 0 s, 100 % complete")
	mustContain(t, "lyon", page, `href="/objects?path=releases%2F1.0%2Fos.iso"`,
		`<svg class="plot" viewBox="0 0 640 220" role="img" aria-labelledby="lag-title lag-desc">`,
		`<title id="lag-title">Lag</title>`, `<title id="complete-title">Completeness</title>`,
		`<title id="traffic-title">Downloads from lyon</title>`, "<polyline points=", `<rect class="bar"`)

	_, page = get(t, h, "/mirrors/ohio")
	mustContain(t, "ohio", page, `<desc id="lag-desc">Lag from 2025-03-07 12:00 UTC to 2025-03-14 12:00 UTC. http: latest 1 d 6 h, worst 1 d 6 h.</desc>`,
		`<text x="58" y="12" dy="0.35em" text-anchor="end">30 h</text>`)

	_, page = get(t, h, "/mirrors/osaka")
	mustContain(t, "osaka", visibleText(page), "Mirror osaka Down", "unreachable", "connection refused", "https: down — connection refused")
	_, page = get(t, h, "/mirrors/nairobi")
	mustContain(t, "nairobi", visibleText(page), "Not checked yet", "never", "No data in this period.", "No checks in this period.")
}

func TestMirrorPageErrors(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	code, page := get(t, h, "/mirrors/nowhere")
	if code != http.StatusNotFound {
		t.Errorf("unknown mirror: %d, want 404", code)
	}
	mustContain(t, "unknown mirror", visibleText(page), "No such mirror", "There is no mirror named “nowhere” in the hub's registry.")
	code, page = get(t, h, "/mirrors/%3Cb%3Ex")
	if code != http.StatusNotFound {
		t.Errorf("unknown mirror: %d, want 404", code)
	}
	mustContain(t, "escaped name", page, "“&lt;b&gt;x”")
}

func TestObjectPage(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	code, page := get(t, h, "/objects?path="+isoPath)
	if code != http.StatusOK {
		t.Fatalf("GET object: %d\n%s", code, excerpt(page))
	}
	text := visibleText(page)
	mustContain(t, "object", text, isoPath, "file", "#2", sum(testFiles[isoPath]), "Size 9 B",
		"1 mirror is verified to hold the current version.",
		"berlin https yes #2", "lyon https no #2", "Not checked for this object yet: ohio, osaka, saopaulo, nairobi.")
	mustContain(t, "object", page, `<title id="traffic-title">Downloads of this object</title>`, `value="releases/1.0/os.iso"`)
	code, page = get(t, h, "/objects?path=pool/a.txt")
	if code != http.StatusOK {
		t.Fatalf("GET object: %d", code)
	}
	mustContain(t, "a.txt", visibleText(page), "3 mirrors are verified", "ohio http yes")
}

func TestObjectPageErrors(t *testing.T) {
	w := newWorld(t)
	h := Handler(w, testOptions())
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/objects?path=../etc/passwd", 400, `The path cannot name an object: path "../etc/passwd": ".." segment.`},
		{"/objects?path=/abs", 400, `path "/abs": absolute`},
		{"/objects?path=.pando/checkpoint", 400, "inside the reserved .pando directory"},
		{"/objects?path=pool/missing.txt", 404, "The origin's signed log has no live object at pool/missing.txt."},
		{"/objects", 200, "Look up an object Path in the repository"},
		{"/nothing/here", 404, "There is no status page at /nothing/here."},
	} {
		code, page := get(t, h, tc.path)
		if code != tc.code {
			t.Errorf("GET %s: %d, want %d", tc.path, code, tc.code)
		}
		mustContain(t, tc.path, visibleText(page), tc.want)
	}
	w.origin = nil
	code, page := get(t, h, "/objects?path=pool/a.txt")
	if code != http.StatusServiceUnavailable {
		t.Errorf("before the first pass: %d, want 503", code)
	}
	mustContain(t, "no origin", visibleText(page), "has not read the origin's signed log yet")
}

func TestDownloadStatistics(t *testing.T) {
	w := newWorld(t)
	w.downloads = nil
	h := Handler(w, testOptions())
	_, page := get(t, h, "/mirrors/berlin")
	mustContain(t, "no stats", visibleText(page), "This hub does not collect download statistics.")
	w.downloads = failingDownloads
	code, page := get(t, h, "/objects?path=pool/a.txt")
	if code != http.StatusOK {
		t.Errorf("failing statistics: %d, want the page anyway", code)
	}
	mustContain(t, "failing stats", visibleText(page), "could not read its download statistics")
}

func TestStoreFailure(t *testing.T) {
	w := newWorld(t)
	w.st.Close()
	h := Handler(w, testOptions())
	for _, path := range []string{"/", "/mirrors/berlin", "/objects?path=pool/a.txt"} {
		code, page := get(t, h, path)
		if code != http.StatusInternalServerError {
			t.Errorf("GET %s with a closed store: %d, want 500", path, code)
		}
		mustContain(t, path, visibleText(page), "The hub could not read its store.")
	}
}

func TestHeadersAndStyle(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	req := httptest.NewRequestWithContext(t.Context(), http.MethodHead, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD /: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	for k, v := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": contentSecurityPolicy,
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	code, css := get(t, h, "/static/status.css")
	if code != 200 || !strings.Contains(css, "@media (max-width: 52rem)") {
		t.Errorf("GET /static/status.css: %d, %d bytes", code, len(css))
	}
	req = httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", rec.Code)
	}
}

func TestBase(t *testing.T) {
	opts := testOptions()
	opts.Base = "/status"
	h := Handler(newWorld(t), opts)
	code, page := get(t, h, "/status/")
	if code != 200 {
		t.Fatalf("GET /status/: %d", code)
	}
	mustContain(t, "links", page, `href="/status/static/status.css"`, `href="/status/mirrors/lyon"`,
		`action="/status/objects"`, `href="/status/?dir=desc&amp;sort=lag"`)
	if code, _ := get(t, h, "/status/mirrors/lyon"); code != 200 {
		t.Errorf("GET /status/mirrors/lyon: %d", code)
	}
	code, page = get(t, h, "/status/nothing")
	if code != 404 {
		t.Errorf("GET /status/nothing: %d", code)
	}
	mustContain(t, "not found", visibleText(page), "There is no status page at /status/nothing.")
	for _, base := range []string{"", "/", "status", "/status", "/status/", "/{x} y/"} {
		opts.Base = base
		if got := withDefaults(opts).Base; got != "/" && !strings.HasSuffix(got, "/") || !strings.HasPrefix(got, "/") {
			t.Errorf("base %q became %q", base, got)
		}
		Handler(newWorld(t), opts) // must not panic
	}
}

func TestProblemsSortTamperingFirst(t *testing.T) {
	ps := []store.Problem{
		{Kind: store.TLS, Access: "https"},
		{Kind: store.Missing, Access: "http", Path: "b"},
		{Kind: store.Fork, Access: "https"},
		{Kind: store.Hash, Access: "rsync", Path: "z"},
		{Kind: store.Hash, Access: "http", Path: "a"},
	}
	sortProblems(ps)
	var got []string
	for _, p := range ps {
		got = append(got, string(p.Kind)+" "+p.Access)
	}
	want := []string{"hash http", "hash rsync", "fork https", "missing http", "tls https"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted %v, want %v", got, want)
	}
}

// TestAccessibleMarkup checks what assistive technology and a browser
// without JavaScript rely on, on every page.
func TestAccessibleMarkup(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	control := regexp.MustCompile(`<(input|select)\b[^>]*>`)
	id := regexp.MustCompile(`\bid="([^"]*)"`)
	labelled := regexp.MustCompile(`aria-labelledby="([^"]*)"`)
	for _, path := range []string{"/", "/?sort=lag", "/mirrors/lyon", "/mirrors/nairobi", "/objects", "/objects?path=" + isoPath, "/objects?path=..", "/nope"} {
		_, page := get(t, h, path)
		mustContain(t, path, page, `<html lang="en">`, `<a class="skip" href="#main">`, `<main id="main"`,
			`<meta name="viewport" content="width=device-width, initial-scale=1">`)
		mustNotContain(t, path, page, "<script", "javascript:", " style=")
		for _, c := range control.FindAllString(page, -1) {
			if strings.Contains(c, `type="hidden"`) {
				continue
			}
			m := id.FindStringSubmatch(c)
			if m == nil || !strings.Contains(page, `<label for="`+m[1]+`">`) {
				t.Errorf("%s: control without a label: %s", path, c)
			}
		}
		for _, m := range labelled.FindAllStringSubmatch(page, -1) {
			for _, ref := range strings.Fields(m[1]) {
				if !strings.Contains(page, `id="`+ref+`"`) {
					t.Errorf("%s: aria-labelledby names %q, which is not on the page", path, ref)
				}
			}
		}
	}
}
