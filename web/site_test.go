package web

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A site is what a test serves on loopback: pando-mirrors.js, the example
// page, a test download page and a mirror list the test controls.
type site struct {
	page    testPage
	mirrors http.Handler // at /m/mirrors.json and /mirrors.json
	hold    http.Handler // at /hold.png, if the test needs it
	tls     bool
}

// start serves s on 127.0.0.1 until the test ends and returns its base URL.
func (s site) start(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /pando-mirrors.js", ScriptHandler())
	mux.Handle("GET /example.html", ExampleHandler())
	mux.HandleFunc("GET /page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, s.page.html())
	})
	mux.Handle("GET /m/mirrors.json", s.mirrors)
	mux.Handle("GET /mirrors.json", s.mirrors)
	if s.hold != nil {
		mux.Handle("GET /hold.png", s.hold)
	}
	srv := httptest.NewUnstartedServer(mux)
	if s.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.URL
}

// mirrorsJSON serves body as a mirror list.
func mirrorsJSON(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})
}

// failing answers every request with code.
func failing(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, http.StatusText(code), code)
	})
}

// A link is a download link on the test page. Its href starts as
// "/hub/" + id, as if it pointed at the hub.
type link struct {
	id, path string
	escaped  string // path as it must appear after the mirror's url_prefix
}

// goodLinks are rewritten to the chosen mirror.
var goodLinks = []link{
	{id: "iso", path: "releases/1.0/os 1.0+beta?#é.iso", escaped: "releases/1.0/os%201.0%2Bbeta%3F%23%C3%A9.iso"},
	{id: "sig", path: "releases/1.0/os.iso.sig", escaped: "releases/1.0/os.iso.sig"},
	{id: "percent", path: "releases/%2e%2e/x", escaped: "releases/%252e%252e/x"},
}

// badLinks have paths that could leave the mirror's tree, or are not
// relative, and keep their hrefs.
var badLinks = []link{
	{id: "dotdot", path: "releases/../../../etc/passwd"},
	{id: "only-dotdot", path: ".."},
	{id: "dot", path: "./releases/os.iso"},
	{id: "absolute", path: "/etc/passwd"},
	{id: "empty-segment", path: "releases//os.iso"},
	{id: "directory", path: "releases/"},
	{id: "empty", path: ""},
}

func hubHref(id string) string { return "/hub/" + id }

// hubName is the text of the mirror-name element before any rewrite.
const hubName = "the download server"

// A testPage is the download page served at /page.html.
type testPage struct {
	scriptAttrs string // attributes of the <script> tag after src; see defaultScriptAttrs
	extra       string // HTML appended to the body
}

const defaultScriptAttrs = `data-pando-mirrors="/m/mirrors.json"`

func (p testPage) html() string {
	attrs := p.scriptAttrs
	if attrs == "" {
		attrs = defaultScriptAttrs
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>test download page</title>\n")
	fmt.Fprintf(&b, "<script src=\"/pando-mirrors.js\" %s defer></script></head><body>\n", attrs)
	for i, l := range append(append([]link{}, goodLinks...), badLinks...) {
		class := ""
		if i%2 == 1 {
			class = ` class="pando-download"`
		}
		fmt.Fprintf(&b, "<p><a id=%q%s href=%q data-pando-path=\"%s\">%s</a></p>\n",
			l.id, class, hubHref(l.id), html.EscapeString(l.path), l.id)
	}
	fmt.Fprintf(&b, "<p><a id=\"plain\" href=%q>not a download</a></p>\n", hubHref("plain"))
	fmt.Fprintf(&b, "<p>Mirror: <span id=\"name\" data-pando-mirror-name>%s</span></p>\n", hubName)
	b.WriteString(p.extra)
	b.WriteString("\n</body></html>\n")
	return b.String()
}
