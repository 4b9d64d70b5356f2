package serve

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// CombinedTimeLayout is the time format of the combined log format.
const CombinedTimeLayout = "02/Jan/2006:15:04:05 -0700"

// AccessLog returns a handler that runs h and then writes one line per
// request to out in the combined log format of Apache and nginx:
//
//	127.0.0.1 - - [02/Jan/2006:15:04:05 -0700] "GET /a.jar HTTP/1.1" 200 1234 "referer" "user-agent"
//
// The time is when the request arrived; the byte count is the number of
// body bytes written to the connection (0 for HEAD; for a download the
// client broke off, those written before the break). In the quoted fields every byte that is not printable
// ASCII, and every quote and backslash, is written as \xHH (as nginx does),
// so a request cannot forge or break a line. An empty field is "-".
//
// Lines are written whole, one Write call each, serialized by a mutex;
// write errors are ignored so that logging never fails a download.
func AccessLog(h http.Handler, out io.Writer) http.Handler {
	return NewAccessLogger(out).Wrap(h)
}

// An AccessLogger writes combined-format lines to one writer, whole and
// one at a time, for the handlers it wraps and for servers that log a
// request themselves (Log).
type AccessLogger struct {
	mu  sync.Mutex
	out io.Writer
}

// NewAccessLogger returns a logger that writes to out.
func NewAccessLogger(out io.Writer) *AccessLogger { return &AccessLogger{out: out} }

// Wrap returns a handler that runs h and then logs the request, as
// AccessLog does.
func (l *AccessLogger) Wrap(h http.Handler) http.Handler {
	return &accessLog{next: h, log: l}
}

// A LogEntry is what a combined-format line says of one request.
type LogEntry struct {
	Host               string // the client's address
	Method, URI, Proto string // of the request line, as sent
	Referer, UserAgent string
	Start              time.Time // when the request arrived
	Status             int
	Bytes              int64 // body bytes sent
}

// Log writes the line of e.
func (l *AccessLogger) Log(e *LogEntry) {
	line := appendCombined(nil, e)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.out.Write(line)
}

type accessLog struct {
	next http.Handler
	log  *AccessLogger
}

func (a *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, head: r.Method == http.MethodHead}
	defer a.write(r, start, rec) // even if the handler panics to abort
	a.next.ServeHTTP(rec, r)
}

func (a *accessLog) write(r *http.Request, start time.Time, rec *recorder) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a.log.Log(&LogEntry{Host: host, Method: r.Method, URI: r.RequestURI, Proto: r.Proto,
		Referer: r.Referer(), UserAgent: r.UserAgent(), Start: start, Status: rec.status(), Bytes: rec.n})
}

// appendCombined appends the combined-format line of e to b.
func appendCombined(b []byte, e *LogEntry) []byte {
	b = appendLogField(b, e.Host)
	b = append(b, " - - ["...)
	b = e.Start.AppendFormat(b, CombinedTimeLayout)
	b = append(b, "] \""...)
	b = appendLogField(b, e.Method)
	b = append(b, ' ')
	b = appendLogField(b, e.URI)
	b = append(b, ' ')
	b = appendLogField(b, e.Proto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.Bytes, 10)
	b = append(b, " \""...)
	b = appendLogField(b, e.Referer)
	b = append(b, "\" \""...)
	b = appendLogField(b, e.UserAgent)
	return append(b, "\"\n"...)
}

// appendLogField appends s with every byte outside printable ASCII, and
// every quote and backslash, escaped as \xHH; an empty s is "-".
func appendLogField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}

// A recorder notes the status and the body bytes of a response.
type recorder struct {
	http.ResponseWriter
	head bool // HEAD: the server sends no body, whatever is written
	code int
	n    int64
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 { // 1xx are interim; the final status follows
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote()
	n, err := r.ResponseWriter.Write(b)
	r.count(int64(n))
	return n, err
}

// ReadFrom keeps the underlying writer's ReadFrom (sendfile) in use.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wrote()
	rf, ok := r.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{r}, src)
	}
	n, err := rf.ReadFrom(src)
	r.count(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) wrote() {
	if r.code == 0 {
		r.code = http.StatusOK
	}
}

func (r *recorder) count(n int64) {
	if !r.head {
		r.n += n
	}
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
