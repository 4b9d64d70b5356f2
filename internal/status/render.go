package status

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

//go:embed templates/*.html static/status.css
var files embed.FS

// pages holds one parsed template set per page, each the layout plus the
// page's own "main" block. They are built once and only read afterwards.
type pages struct {
	index, mirror, object, error *template.Template
}

// parsePages parses the embedded templates. They are fixed at build time,
// so a failure is a bug in this package, caught by every test.
func parsePages() pages {
	parse := func(name string) *template.Template {
		return template.Must(template.New("layout.html").Funcs(funcs()).ParseFS(files,
			"templates/layout.html", "templates/parts.html", "templates/"+name))
	}
	return pages{
		index:  parse("index.html"),
		mirror: parse("mirror.html"),
		object: parse("object.html"),
		error:  parse("error.html"),
	}
}

// A page is what the layout reads; Body is the page's own data.
type page struct {
	Title string
	Base  string
	Now   time.Time
	Body  any
}

// contentSecurityPolicy allows the style sheet and nothing else: the pages
// run no script and load nothing from elsewhere.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// render executes t into a buffer first, so an error never leaves half a
// page, and writes it with code.
func (s *server) render(w http.ResponseWriter, r *http.Request, code int, t *template.Template, title string, body any) {
	var buf bytes.Buffer
	p := page{Title: title, Base: s.opts.Base, Now: s.opts.Now().UTC(), Body: body}
	if err := t.Execute(&buf, p); err != nil {
		s.log.Error("status page: template", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorBody is the data of an error page.
type errorBody struct {
	Code    int
	Heading string
	Message string
}

func (s *server) errorPage(w http.ResponseWriter, r *http.Request, code int, heading, msg string) {
	s.render(w, r, code, s.pages.error, heading, errorBody{Code: code, Heading: heading, Message: msg})
}

// styleHandler serves the style sheet with an ETag, so browsers revalidate
// it cheaply after an upgrade.
func styleHandler() http.Handler {
	data, err := files.ReadFile("static/status.css")
	if err != nil {
		panic("status: embedded style sheet missing") // fixed at build time
	}
	sum := sha256.Sum256(data)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	})
}
