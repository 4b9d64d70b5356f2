package metrics

import (
	"io"
	"net/http"
	"strings"

	"github.com/pando-mirror/pando/internal/redirect"
)

// Wrap counts every request h answers: each one in pando_http_requests_total
// by kind and status class, and each GET or HEAD of an object (not the API,
// mirror lists or metrics) in pando_redirects_total, with the mirror the
// redirector's Answer names ("" for the fall-back and for paths that are no
// object). A nil m returns h unchanged.
func Wrap(h http.Handler, m *Metrics) http.Handler {
	if m == nil {
		return h
	}
	return Observe(h, func(r *http.Request, code int, mirror string) {
		kind := RequestKind(r)
		m.ObserveRequest(kind, StatusClass(code))
		if kind == "object" {
			m.ObserveRedirect(mirror, RedirectResult(code))
		}
	})
}

// Observe returns a handler that runs h and then calls done with the
// request, the status h answered with and the mirror a redirector under h
// sent it to (redirect.Answer; "" when none). The writer h sees keeps
// io.ReaderFrom, so a file served through it still goes out with sendfile.
func Observe(h http.Handler, done func(r *http.Request, code int, mirror string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		done(r, sw.status(), sw.mirror)
	})
}

// RequestKind classifies a request by what it asks for, never by its path
// itself: "object" for a plain GET or HEAD of a file, "mirrorlist",
// "metalink", "api", "metrics" or "other".
func RequestKind(r *http.Request) string {
	return Kind(r.Method, r.URL.Path, r.URL.RawQuery != "" && r.URL.Query().Has("mirrorlist"))
}

// Kind is RequestKind for a request with this method and (decoded) path,
// asking or not for a mirror list.
func Kind(method, p string, mirrorlist bool) string {
	switch {
	case method != http.MethodGet && method != http.MethodHead:
		return "other"
	case p == "/metrics":
		return "metrics"
	case p == "/mirrors.json" || strings.HasPrefix(p, "/api/"):
		return "api"
	case mirrorlist:
		return "mirrorlist"
	case strings.HasSuffix(p, ".meta4"):
		return "metalink"
	case p == "/" || strings.HasSuffix(p, "/"):
		return "other"
	}
	return "object"
}

// RedirectResult names the outcome of an object request by its status.
func RedirectResult(code int) string {
	switch {
	case code >= 300 && code < 400:
		return "redirect"
	case code == http.StatusNotFound:
		return "not_found"
	case code >= 200 && code < 300:
		return "ok"
	case code >= 500:
		return "error"
	}
	return "other"
}

// StatusClass returns "2xx", "3xx", ... for code, or "other".
func StatusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return statusClasses[code/100-1]
}

var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// statusWriter records the first status written and the redirector's
// answer.
type statusWriter struct {
	http.ResponseWriter
	code   int
	mirror string
}

// RecordAnswer implements redirect.Recorder.
func (w *statusWriter) RecordAnswer(a redirect.Answer) { w.mirror = a.Mirror }

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom hands the copy to the underlying writer, which may use sendfile.
func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return io.Copy(w.ResponseWriter, src)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
