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
	return &accessLog{next: h, out: out}
}

type accessLog struct {
	next http.Handler
	mu   sync.Mutex
	out  io.Writer
}

func (a *accessLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, head: r.Method == http.MethodHead}
	defer a.write(r, start, rec) // even if the handler panics to abort
	a.next.ServeHTTP(rec, r)
}

func (a *accessLog) write(r *http.Request, start time.Time, rec *recorder) {
	line := appendCombined(nil, r, start, rec.status(), rec.n)
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = a.out.Write(line)
}

// appendCombined appends the combined-format line for a request.
func appendCombined(b []byte, r *http.Request, start time.Time, status int, n int64) []byte {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	b = appendLogField(b, host)
	b = append(b, " - - ["...)
	b = start.AppendFormat(b, CombinedTimeLayout)
	b = append(b, "] \""...)
	b = appendLogField(b, r.Method)
	b = append(b, ' ')
	b = appendLogField(b, r.RequestURI)
	b = append(b, ' ')
	b = appendLogField(b, r.Proto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n, 10)
	b = append(b, " \""...)
	b = appendLogField(b, r.Referer())
	b = append(b, "\" \""...)
	b = appendLogField(b, r.UserAgent())
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
