package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// idleReader ends its request when no byte arrives for a while, so a server
// that drips or stalls cannot hold a checker worker forever. Its errors name
// the object and wrap ErrTimeout (a stall), ErrProtocol (a body shorter than
// its Content-Length) or another class.
type idleReader struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	timer  *time.Timer
	idle   time.Duration
	fired  atomic.Bool
	what   string // "GET url", for errors
}

func newIdleReader(rc io.ReadCloser, cancel context.CancelFunc, idle time.Duration, what string) *idleReader {
	r := &idleReader{rc: rc, cancel: cancel, idle: idle, what: what}
	r.timer = time.AfterFunc(idle, func() {
		r.fired.Store(true)
		cancel()
	})
	return r
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 && !r.fired.Load() {
		r.timer.Reset(r.idle)
	}
	if err == nil || err == io.EOF {
		return n, err
	}
	return n, r.wrap(err)
}

// wrap classifies a failed read.
func (r *idleReader) wrap(err error) error {
	switch {
	case r.fired.Load():
		return fmt.Errorf("%s: %w: no data for %v", r.what, ErrTimeout, r.idle)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: %w: body shorter than its Content-Length: %w", r.what, ErrProtocol, err)
	}
	return fmt.Errorf("%s: %w", r.what, classify(err))
}

func (r *idleReader) Close() error {
	r.timer.Stop()
	err := r.rc.Close()
	r.cancel()
	return err
}
