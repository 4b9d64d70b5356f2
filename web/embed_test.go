package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

func TestScriptHandler(t *testing.T) {
	h := ScriptHandler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/pando-mirrors.js", nil))
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), Script()) {
		t.Fatalf("GET: %d, %d bytes; want 200 and the script", rec.Code, rec.Body.Len())
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/javascript; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	etag := rec.Header().Get("ETag")
	req := httptest.NewRequest("GET", "/pando-mirrors.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("GET with If-None-Match %s: %d, want 304", etag, rec.Code)
	}
}

// TestScriptAvoids keeps constructs out of pando-mirrors.js that would turn
// data from the mirror list into code or markup.
func TestScriptAvoids(t *testing.T) {
	for _, bad := range []string{
		`\beval\s*\(`, `\bFunction\s*\(`, `innerHTML`, `outerHTML`,
		`insertAdjacentHTML`, `document\.write`, "setTimeout\\s*\\(\\s*[\"'`]",
	} {
		if loc := regexp.MustCompile(bad).FindIndex(Script()); loc != nil {
			t.Errorf("pando-mirrors.js has %q at byte %d", Script()[loc[0]:loc[1]], loc[0])
		}
	}
}

func TestExamplePageUsesScript(t *testing.T) {
	page := ExamplePage()
	for _, want := range []string{`<script src="/pando-mirrors.js"`, `data-pando-path="`, `data-pando-mirror-name`, `<noscript>`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("example.html lacks %s", want)
		}
	}
}
