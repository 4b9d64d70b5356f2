package serve

import (
	"io"
	"net/http"
	"time"
)

// ProgressChunk is the most a response writes under one deadline (on
// this package's server and on the edge's). With the default write
// timeout a client must take at least 128 KiB a minute (about 2 KiB/s)
// to keep its download alive.
const ProgressChunk = 128 << 10

// extendOnProgress returns a handler that runs h with a response writer
// whose write deadline moves to now+stall before every write of at most
// ProgressChunk bytes. The server's WriteTimeout then bounds a stall, not a
// whole download. (Its ReadTimeout needs no such care: net/http clears the
// read deadline while a handler runs.)
func extendOnProgress(h http.Handler, stall time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&progressWriter{
			ResponseWriter: w,
			rc:             http.NewResponseController(w),
			stall:          stall,
		}, r)
	})
}

// A progressWriter moves its connection's write deadline forward as a
// response makes progress.
type progressWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

// extend moves the deadline. A connection that cannot set one keeps the
// server's own timeout, which is the best it can do.
func (p *progressWriter) extend() {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.stall))
}

func (p *progressWriter) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		p.extend()
		m, err := p.ResponseWriter.Write(b[:min(len(b), ProgressChunk)])
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

// ReadFrom copies src in chunks of ProgressChunk, each under a fresh
// deadline, through the underlying writer's ReadFrom so that a plain HTTP/1
// connection still sends files with sendfile.
func (p *progressWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := p.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{p}, src)
	}
	outer, _ := src.(*io.LimitedReader)
	var total int64
	for {
		chunk := &io.LimitedReader{R: src, N: ProgressChunk}
		if outer != nil {
			chunk = &io.LimitedReader{R: outer.R, N: min(outer.N, ProgressChunk)}
		}
		want := chunk.N
		if want == 0 {
			return total, nil
		}
		p.extend()
		n, err := rf.ReadFrom(chunk)
		total += n
		if outer != nil {
			outer.N -= n
		}
		if err != nil || n < want {
			return total, err
		}
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// writerOnly hides a writer's ReadFrom so that io.Copy uses Write.
type writerOnly struct{ io.Writer }
