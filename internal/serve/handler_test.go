package serve

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestGetAndHead(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	c := client(t)

	resp, body := fetch(t, c, "GET", s.url+"/hello.txt", nil)
	if resp.StatusCode != 200 || string(body) != "hello, world\n" {
		t.Fatalf("GET /hello.txt = %d %q; want 200 %q", resp.StatusCode, body, "hello, world\n")
	}
	want := map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"Content-Length":         "13",
		"Accept-Ranges":          "bytes",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET /hello.txt: %s = %q; want %q", k, got, v)
		}
	}
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
		t.Errorf("ETag = %q; want a strong validator", etag)
	}
	fi, err := os.Stat(filepath.Join(tr.dir, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Last-Modified"); got != fi.ModTime().UTC().Format(http.TimeFormat) {
		t.Errorf("Last-Modified = %q; want the file's mtime %v", got, fi.ModTime())
	}

	resp, body = fetch(t, c, "HEAD", s.url+"/hello.txt", nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != 13 {
		t.Errorf("HEAD /hello.txt = %d, %d body bytes, Content-Length %d; want 200, 0, 13",
			resp.StatusCode, len(body), resp.ContentLength)
	}
	if got := resp.Header.Get("ETag"); got != etag {
		t.Errorf("HEAD ETag = %q; want the GET's %q", got, etag)
	}

	resp, body = fetch(t, c, "GET", s.url+"/pool/a%20b.jar", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, tr.jar) {
		t.Errorf("GET /pool/a%%20b.jar = %d with %d bytes; want 200 with the jar", resp.StatusCode, len(body))
	}
}

func TestMethodsOtherThanGetAndHeadAreRefused(t *testing.T) {
	s := serveTree(t, newTree(t), Config{})
	c := client(t)
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS", "PATCH"} {
		resp, _ := fetch(t, c, m, s.url+"/hello.txt", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s = %d, Allow %q; want 405, \"GET, HEAD\"", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

func TestRange(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	c := client(t)
	size := len(tr.data)
	tests := []struct {
		rng          string
		status       int
		contentRange string
		body         []byte
	}{
		{"bytes=0-99", 206, "bytes 0-99/10000", tr.data[:100]},
		{"bytes=9990-", 206, "bytes 9990-9999/10000", tr.data[9990:]},
		{"bytes=-10", 206, "bytes 9990-9999/10000", tr.data[size-10:]},
		{"bytes=5000-5000", 206, "bytes 5000-5000/10000", tr.data[5000:5001]},
		{"bytes=9000-20000", 206, "bytes 9000-9999/10000", tr.data[9000:]},
		{"bytes=10000-", 416, "bytes */10000", nil},
		{"bytes=20000-30000", 416, "bytes */10000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			resp, body := fetch(t, c, "GET", s.url+"/data.bin", map[string]string{"Range": tt.rng})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q; want %q", got, tt.contentRange)
			}
			if tt.status == 206 && !bytes.Equal(body, tt.body) {
				t.Errorf("body is %d bytes, not the %d of the range", len(body), len(tt.body))
			}
		})
	}
}

func TestMultiRange(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	resp, body := fetch(t, client(t), "GET", s.url+"/data.bin", map[string]string{"Range": "bytes=0-9,100-149,-5"})
	if resp.StatusCode != 206 {
		t.Fatalf("status %d; want 206", resp.StatusCode)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q; want multipart/byteranges", resp.Header.Get("Content-Type"))
	}
	want := []struct {
		contentRange string
		body         []byte
	}{
		{"bytes 0-9/10000", tr.data[0:10]},
		{"bytes 100-149/10000", tr.data[100:150]},
		{"bytes 9995-9999/10000", tr.data[9995:]},
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i, w := range want {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		got, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		if cr := part.Header.Get("Content-Range"); cr != w.contentRange || !bytes.Equal(got, w.body) {
			t.Errorf("part %d: Content-Range %q with %d bytes; want %q with %d", i, cr, len(got), w.contentRange, len(w.body))
		}
		if ct := part.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("part %d: Content-Type %q; want application/octet-stream", i, ct)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after %d parts: %v; want io.EOF", len(want), err)
	}
}

func TestConditionalRequests(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	c := client(t)
	url := s.url + "/data.bin"
	first, _ := fetch(t, c, "GET", url, nil)
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	before := time.Now().Add(-48 * time.Hour).UTC().Format(http.TimeFormat)

	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		length int // body bytes
	}{
		{"If-None-Match same", map[string]string{"If-None-Match": etag}, 304, 0},
		{"If-None-Match in a list", map[string]string{"If-None-Match": `"other", ` + etag}, 304, 0},
		{"If-None-Match star", map[string]string{"If-None-Match": "*"}, 304, 0},
		{"If-None-Match other", map[string]string{"If-None-Match": `"other"`}, 200, 10000},
		{"If-Modified-Since Last-Modified", map[string]string{"If-Modified-Since": lastMod}, 304, 0},
		{"If-Modified-Since earlier", map[string]string{"If-Modified-Since": before}, 200, 10000},
		{"If-None-Match wins over If-Modified-Since", map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": lastMod}, 200, 10000},
		{"If-Range same ETag", map[string]string{"If-Range": etag, "Range": "bytes=0-9"}, 206, 10},
		{"If-Range stale ETag", map[string]string{"If-Range": `"stale"`, "Range": "bytes=0-9"}, 200, 10000},
		{"If-Range Last-Modified", map[string]string{"If-Range": lastMod, "Range": "bytes=0-9"}, 206, 10},
		{"If-Match same", map[string]string{"If-Match": etag}, 200, 10000},
		{"If-Match other", map[string]string{"If-Match": `"other"`}, 412, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, c, "GET", url, tt.hdr)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d; want %d", resp.StatusCode, tt.status)
			}
			if tt.length >= 0 && len(body) != tt.length {
				t.Errorf("%d body bytes; want %d", len(body), tt.length)
			}
			if tt.status == 304 && resp.Header.Get("ETag") != etag {
				t.Errorf("304 ETag %q; want %q", resp.Header.Get("ETag"), etag)
			}
		})
	}
}

func TestETagChangesWhenTheFileIsReplaced(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	c := client(t)
	old, _ := fetch(t, c, "GET", s.url+"/hello.txt", nil)
	// Replace the file the way a publisher or a sync does: a new file renamed
	// over the old one, with the same size and mtime.
	name := filepath.Join(tr.dir, "hello.txt")
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, name+".tmp", []byte("HELLO, WORLD\n"))
	if err := os.Chtimes(name+".tmp", fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		t.Fatal(err)
	}
	resp, body := fetch(t, c, "GET", s.url+"/hello.txt", map[string]string{"If-None-Match": old.Header.Get("ETag")})
	if resp.StatusCode != 200 || string(body) != "HELLO, WORLD\n" {
		t.Errorf("after replacing: %d %q; want 200 with the new contents", resp.StatusCode, body)
	}
	if resp.Header.Get("ETag") == old.Header.Get("ETag") {
		t.Errorf("ETag %q did not change when the file was replaced", old.Header.Get("ETag"))
	}
}

func TestContentTypes(t *testing.T) {
	tests := []struct{ name, want string }{
		{"pool/lib-1.0.jar", "application/java-archive"},
		{"pool/lib-1.0.pom", "text/xml; charset=utf-8"},
		{"pool/lib-1.0.jar.sha1", "text/plain; charset=utf-8"},
		{"pool/lib-1.0.jar.asc", "application/pgp-signature"},
		{"tails.iso", "application/octet-stream"},
		{"src.tar.gz", "application/gzip"},
		{"src.tar.xz", "application/x-xz"},
		{"index.html", "text/html; charset=utf-8"},
		{"image.PNG", "image/png"},
		{"no-extension", "application/octet-stream"},
		{"strange.zzzunknown", "application/octet-stream"},
		{".pando/checkpoint", "text/plain; charset=utf-8"},
		{".pando/journal", "text/plain; charset=utf-8"},
		{".pando/tile/8/0/000", "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := contentType(tt.name); got != tt.want {
			t.Errorf("contentType(%q) = %q; want %q", tt.name, got, tt.want)
		}
	}
	// And over the wire, for a file whose content would sniff as something else.
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	resp, _ := fetch(t, client(t), "GET", s.url+"/pool/a%20b.jar", nil)
	if got := resp.Header.Get("Content-Type"); got != "application/java-archive" {
		t.Errorf("GET a jar: Content-Type %q; want application/java-archive", got)
	}
}

func TestSignedLogIsServedWithCacheControl(t *testing.T) {
	s := serveTree(t, newTree(t), Config{})
	c := client(t)
	tests := []struct{ path, cacheControl string }{
		{"/.pando/checkpoint", "no-cache"},
		{"/.pando/journal", "no-cache"},
		{"/.pando/tile/8/0/000.p/1", ""},
		{"/hello.txt", ""},
	}
	for _, tt := range tests {
		resp, _ := fetch(t, c, "GET", s.url+tt.path, nil)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d; want 200", tt.path, resp.StatusCode)
		}
		if got := resp.Header.Get("Cache-Control"); got != tt.cacheControl {
			t.Errorf("GET %s: Cache-Control %q; want %q", tt.path, got, tt.cacheControl)
		}
	}
	// A journal fetched by range, as a mirror fetches its tail, keeps it.
	resp, _ := fetch(t, c, "GET", s.url+"/.pando/journal", map[string]string{"Range": "bytes=5-"})
	if resp.StatusCode != 206 || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("ranged journal: %d, Cache-Control %q; want 206, no-cache", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

func TestTraversalIsRefused(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	outsideAbs := filepath.ToSlash(filepath.Join(tr.outside, "secret.txt"))
	tests := []struct {
		target string
		status int
	}{
		{"/../outside/secret.txt", 400},
		{"/../../../../../../etc/passwd", 400},
		{"/pool/../../outside/secret.txt", 400},
		{"/%2e%2e/outside/secret.txt", 400},
		{"/%2E%2E/outside/secret.txt", 400},
		{"/.%2e/outside/secret.txt", 400},
		{"/pool/%2e%2e/%2e%2e/outside/secret.txt", 400},
		{"/..%2foutside%2fsecret.txt", 400},
		{"/..%2Foutside%2Fsecret.txt", 400},
		{"/%2e%2e%2foutside%2fsecret.txt", 400},
		{"/%2fetc%2fpasswd", 400},
		{"/..%5coutside%5csecret.txt", 400},
		{`/..\outside\secret.txt`, 400},
		{`/pool\..\..\outside\secret.txt`, 400},
		{"//outside/secret.txt", 400},
		{"/./hello.txt", 400},
		{"/hello.txt%00", 400},
		{"/hello.txt%00.png", 400},
		{"/%c0%ae%c0%ae/outside/secret.txt", 400},       // overlong UTF-8 dots
		{"/%e0%80%ae%e0%80%ae/outside/secret.txt", 400}, // overlong, three bytes
		{"/%uff0e%uff0e/outside/secret.txt", 400},       // not percent-encoding at all
		{"http://test/../outside/secret.txt", 400},      // absolute-form request-target
		{"/%252e%252e/outside/secret.txt", 404},         // double-encoded: a literal "%2e%2e"
		{"/%252e%252e%252foutside%252fsecret.txt", 404},
		{"/%25252e%25252e/outside/secret.txt", 404},
		{"/%EF%BC%8E%EF%BC%8E/outside/secret.txt", 404}, // fullwidth dots are just a name
		{"/..;/outside/secret.txt", 404},
		{"/" + strings.TrimPrefix(outsideAbs, "/"), 404}, // the absolute path, inside the tree
		{"/" + outsideAbs, 400},
		{"/escape/secret.txt", 404},
		{"/escape-file", 404},
		{"/abs", 404},
		{"/pool/parent/../outside/secret.txt", 400},
	}
	for _, tt := range tests {
		status, body := rawGet(t, s.addr, tt.target)
		if status != tt.status {
			t.Errorf("GET %s = %d; want %d", tt.target, status, tt.status)
		}
		if strings.Contains(body, outsideSecret) {
			t.Errorf("GET %s served the file outside the tree", tt.target)
		}
	}
}

func TestLocalStateIsNeverServed(t *testing.T) {
	s := serveTree(t, newTree(t), Config{})
	tests := []struct {
		target string
		status int
	}{
		{"/.pando/local/secret", 404},
		{"/.pando/local/lock", 404},
		{"/.pando/local/", 404},
		{"/.pando/local", 404},
		{"/.PANDO/local/secret", 404},
		{"/.pando/LOCAL/secret", 404},
		{"/.Pando/Local/secret", 404}, // exists on disk under this spelling
		{"/.Pando/Local/", 404},
		{"/%2epando/local/secret", 404},
		{"/%2Epando/%6Cocal/secret", 404},
		{"/.pando/local./secret", 404},
		{"/.pando./local/secret", 404},
		{"/.pando/local%20/secret", 404},
		{"/.pando%2flocal/secret", 400},
		{"/.pando%2Flocal%2Fsecret", 400},
		{"/.pando//local/secret", 400},
		{"/.pando/./local/secret", 400},
		{"/.pando/tile/../local/secret", 400},
		{"/.pando/tile/%2e%2e/local/secret", 400},
		{`/.pando\local\secret`, 400},
		{"/.pando/local%00/secret", 400},
		{"/%252epando/local/secret", 404},
		{"/tolocal/secret", 404},      // symlink to .pando/local
		{"/tometa/local/secret", 404}, // symlink to .pando
		{"/chain/secret", 404},        // symlink to a symlink into .pando/local
		{"/tolocal/", 404},
	}
	for _, tt := range tests {
		status, body := rawGet(t, s.addr, tt.target)
		if status != tt.status {
			t.Errorf("GET %s = %d; want %d", tt.target, status, tt.status)
		}
		if strings.Contains(body, localSecret) {
			t.Errorf("GET %s served the local state", tt.target)
		}
	}
	// The rest of .pando is served, through a symlink too.
	for _, target := range []string{"/.pando/checkpoint", "/tometa/journal", "/.pando/tile/8/0/000.p/1"} {
		if status, _ := rawGet(t, s.addr, target); status != 200 {
			t.Errorf("GET %s = %d; want 200", target, status)
		}
	}
}

func TestSymlinks(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	c := client(t)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/latest.jar", 200, string(tr.jar)},
		{"/docs/lib-1.0.pom", 200, "<project/>\n"},
		{"/up-and-in", 200, "hello, world\n"},
		{"/pool/parent/hello.txt", 200, "hello, world\n"},
		{"/escape/secret.txt", 404, ""},
		{"/escape-file", 404, ""},
		{"/abs", 404, ""},
		{"/loop", 404, ""},
		{"/dangling", 404, ""},
		{"/hello.txt/", 404, ""},
		{"/hello.txt/x", 404, ""},
	}
	for _, tt := range tests {
		resp, body := fetch(t, c, "GET", s.url+tt.path, nil)
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s = %d; want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.status == 200 && string(body) != tt.body {
			t.Errorf("GET %s: body %q; want %q", tt.path, body, tt.body)
		}
		if strings.Contains(string(body), outsideSecret) {
			t.Errorf("GET %s served the file outside the tree", tt.path)
		}
	}
	// A symlinked file keeps the target's content type.
	resp, _ := fetch(t, c, "HEAD", s.url+"/latest.jar", nil)
	if got := resp.Header.Get("Content-Type"); got != "application/java-archive" {
		t.Errorf("HEAD /latest.jar: Content-Type %q; want application/java-archive", got)
	}
}

func TestDirectoryRedirect(t *testing.T) {
	s := serveTree(t, newTree(t), Config{})
	c := client(t)
	tests := []struct{ path, location string }{
		{"/pool", "./pool/"},
		{"/pool/zeta", "./zeta/"},
		{"/pool?x=1", "./pool/?x=1"},
		{"/docs", "./docs/"},
		{"/.pando", "./.pando/"},
	}
	for _, tt := range tests {
		resp, _ := fetch(t, c, "GET", s.url+tt.path, nil)
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != tt.location {
			t.Errorf("GET %s = %d Location %q; want 301 %q", tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.location)
		}
	}
	// Following the redirect lands on the listing.
	follow := &http.Client{Transport: c.Transport}
	resp, body := fetch(t, follow, "GET", s.url+"/pool/zeta", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `href="./z.txt"`) {
		t.Errorf("following /pool/zeta: %d %q; want the listing of pool/zeta", resp.StatusCode, body)
	}
}

func TestDirectoryListing(t *testing.T) {
	tr := newTree(t)
	s := serveTree(t, tr, Config{})
	c := client(t)

	resp, body := fetch(t, c, "GET", s.url+"/", nil)
	page := string(body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q; want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Sorted by name, directories with a slash, symlinks as what they lead to.
	order := []string{`href="./.Pando/"`, `href="./.pando/"`, `href="./%3Cb%3E&amp;%22x%27.txt"`,
		`href="./data.bin"`, `href="./docs/"`, `href="./hello.txt"`, `href="./javascript:alert%281%29"`,
		`href="./latest.jar"`, `href="./pool/"`, `href="./up-and-in"`}
	last := -1
	for _, want := range order {
		i := strings.Index(page, want)
		if i < 0 {
			t.Errorf("listing of / lacks %s", want)
			continue
		}
		if i < last {
			t.Errorf("listing of / has %s out of order", want)
		}
		last = i
	}
	if !strings.Contains(page, `>&lt;b&gt;&amp;&#34;x&#39;.txt</a>`) {
		t.Errorf("listing of / does not show the odd name escaped:\n%s", page)
	}
	if strings.Contains(page, "<b>") {
		t.Errorf("listing of / holds an unescaped name:\n%s", page)
	}
	// Symlinks that cannot be served are not listed.
	for _, hidden := range []string{"escape", "escape-file", "abs", "tolocal", "chain", "loop", "dangling"} {
		if strings.Contains(page, `"./`+hidden+`"`) || strings.Contains(page, `"./`+hidden+`/"`) {
			t.Errorf("listing of / shows %q, which cannot be served", hidden)
		}
	}
	if !strings.Contains(page, `href="./tometa/"`) {
		t.Errorf("listing of / lacks the symlink tometa/ to .pando")
	}

	_, body = fetch(t, c, "GET", s.url+"/.pando/", nil)
	page = string(body)
	if !strings.Contains(page, `href="./checkpoint"`) || !strings.Contains(page, `href="./tile/"`) {
		t.Errorf("listing of /.pando/ lacks the signed log:\n%s", page)
	}
	if strings.Contains(page, "local") {
		t.Errorf("listing of /.pando/ shows the local state:\n%s", page)
	}
	_, body = fetch(t, c, "GET", s.url+"/tometa/", nil)
	if strings.Contains(string(body), "local") {
		t.Errorf("listing of /tometa/ (a symlink to .pando) shows the local state")
	}
	_, body = fetch(t, c, "GET", s.url+"/.Pando/", nil)
	if strings.Contains(string(body), "Local") {
		t.Errorf("listing of /.Pando/ shows its Local directory")
	}

	resp, body = fetch(t, c, "HEAD", s.url+"/pool/", nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD /pool/ = %d with %d body bytes; want 200, 0", resp.StatusCode, len(body))
	}
	_, body = fetch(t, c, "GET", s.url+"/pool/", nil)
	page = string(body)
	for _, want := range []string{`href="../"`, `href="./a%20b.jar">a b.jar</a>`, "<td>" + strconv.Itoa(len(tr.jar)) + "</td>", `href="./zeta/">zeta/</a>`} {
		if !strings.Contains(page, want) {
			t.Errorf("listing of /pool/ lacks %s:\n%s", want, page)
		}
	}
}

func TestRequestName(t *testing.T) {
	tests := []struct {
		target string
		name   string
		slash  bool
		bad    bool
	}{
		{target: "/", name: ".", slash: true},
		{target: "/a", name: "a"},
		{target: "/a/", name: "a", slash: true},
		{target: "/a%20b/c.jar", name: "a b/c.jar"},
		{target: "/%252e%252e", name: "%2e%2e"},
		{target: "/.pando/checkpoint", name: ".pando/checkpoint"},
		{target: "/..", bad: true},
		{target: "/a/..", bad: true},
		{target: "/a/./b", bad: true},
		{target: "/a//b", bad: true},
		{target: "//", bad: true},
		{target: "/a%2fb", bad: true},
		{target: "/a%2Fb", bad: true},
		{target: "/a%5cb", bad: true},
		{target: "/a%00", bad: true},
		{target: "/a%0a", bad: true},
		{target: "/a%7f", bad: true},
		{target: "/%ff", bad: true},
		{target: "/" + strings.Repeat("a", 256), bad: true},
		{target: "/" + strings.Repeat("a/", 600), bad: true},
	}
	for _, tt := range tests {
		req, err := http.NewRequest("GET", "http://test"+tt.target, nil)
		if err != nil {
			t.Fatal(err)
		}
		name, slash, err := requestName(req.URL)
		switch {
		case tt.bad && err != errBadPath:
			t.Errorf("requestName(%q) = %q, %v; want errBadPath", tt.target, name, err)
		case !tt.bad && (err != nil || name != tt.name || slash != tt.slash):
			t.Errorf("requestName(%q) = %q, %v, %v; want %q, %v", tt.target, name, slash, err, tt.name, tt.slash)
		}
	}
}

func TestIsLocal(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{".pando/local", true},
		{".pando/local/lock", true},
		{".PANDO/Local/x", true},
		{".pando./local /x", true},
		{".pando", false},
		{".pando/checkpoint", false},
		{".pando/localx", false},
		{".pando/tile/local", false},
		{"local", false},
		{"pool/.pando/local", false},
	}
	for _, tt := range tests {
		if got := isLocal(tt.name); got != tt.want {
			t.Errorf("isLocal(%q) = %v; want %v", tt.name, got, tt.want)
		}
	}
}
