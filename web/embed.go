// Package web holds the files a project's download page uses for
// client-side mirror selection (the Tails download-page model):
// pando-mirrors.js, which fetches the hub's mirrors.json, picks one mirror by
// weight and points the page's download links at it, and example.html, a
// download page that uses it. docs/CLIENT-SIDE.md describes both.
//
// The files are embedded so that the hub can serve them (at
// /pando-mirrors.js) without reading anything from disk.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:embed pando-mirrors.js example.html
var files embed.FS

// Script returns the contents of pando-mirrors.js.
func Script() []byte { return mustRead("pando-mirrors.js") }

// ExamplePage returns the contents of example.html, a download page that
// loads /pando-mirrors.js.
func ExamplePage() []byte { return mustRead("example.html") }

// ScriptHandler serves pando-mirrors.js, with an ETag and conditional
// requests, as JavaScript that browsers must not sniff as anything else.
func ScriptHandler() http.Handler {
	return fileHandler(Script(), "text/javascript; charset=utf-8")
}

// ExampleHandler serves example.html.
func ExampleHandler() http.Handler {
	return fileHandler(ExamplePage(), "text/html; charset=utf-8")
}

func fileHandler(data []byte, contentType string) http.Handler {
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
}

// mustRead returns an embedded file; the names are fixed at build time, so
// a failure is a bug in this package.
func mustRead(name string) []byte {
	data, err := files.ReadFile(name)
	if err != nil {
		panic("web: embedded file missing: " + name)
	}
	return data
}
