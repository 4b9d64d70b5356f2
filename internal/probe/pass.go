package probe

import (
	"context"
	"sync"
	"sync/atomic"
)

// Retry bounds for one path within one Stat pass.
const (
	// maxCloseRetries bounds how often a path is sent again because the
	// server ended the connection before answering it (Connection: close,
	// or a close after answering others). Well-behaved servers do this
	// every 100 or 1000 requests.
	maxCloseRetries = 16
	// maxFailRetries bounds how often a path is sent again after a
	// connection failed (timeout, reset before any answer): once.
	maxFailRetries = 1
)

// A pass hands out the paths of one Stat call to connections (or HTTP/2
// streams), takes back those a connection could not answer, and decides
// when the access point as a whole is broken: when a connection fails, is
// replaced, and the replacement fails too while no connection anywhere got
// an answer in between.
type pass struct {
	paths  []string
	queue  chan int // indexes of paths waiting to be sent; never blocks
	closes []uint8  // per path, re-sends after the server closed
	fails  []uint8  // per path, re-sends after a failure

	// wrap names the path and class in the error of a path that failed
	// after its retries.
	wrap func(path string, err error) error

	fnMu sync.Mutex
	fn   func(Stat)

	left     atomic.Int64 // paths not yet reported
	answered atomic.Int64 // paths that got an answer from the server
	done     chan struct{}

	mu       sync.Mutex
	broken   error // set once
	brokenCh chan struct{}
}

func newPass(paths []string, fn func(Stat)) *pass {
	ps := &pass{
		paths:    paths,
		queue:    make(chan int, len(paths)),
		closes:   make([]uint8, len(paths)),
		fails:    make([]uint8, len(paths)),
		fn:       fn,
		done:     make(chan struct{}),
		brokenCh: make(chan struct{}),
	}
	ps.left.Store(int64(len(paths)))
	if len(paths) == 0 {
		close(ps.done)
	}
	return ps
}

// finish reports path i. fn is never called concurrently.
func (ps *pass) finish(i int, st Stat) {
	st.Path = ps.paths[i]
	ps.fnMu.Lock()
	ps.fn(st)
	ps.fnMu.Unlock()
	if ps.left.Add(-1) == 0 {
		close(ps.done)
	}
}

// fail reports path i as failed with err.
func (ps *pass) fail(i int, err error) {
	ps.finish(i, Stat{Size: -1, Err: err})
}

// answer reports an answer the server gave for path i.
func (ps *pass) answer(i int, st Stat) {
	ps.answered.Add(1)
	ps.finish(i, st)
}

// failAll reports every path in is as failed with err.
func (ps *pass) failAll(is []int, err error) {
	for _, i := range is {
		ps.fail(i, err)
	}
}

// put queues path i again without counting a retry: it was never sent.
func (ps *pass) put(i int) {
	if err := ps.brokenErr(); err != nil {
		ps.fail(i, err)
		return
	}
	ps.queue <- i
}

// retry queues path i again after its connection ended without answering
// it, or reports it as failed with err once it has been retried enough.
// closed says the server ended the connection after answering others.
func (ps *pass) retry(i int, closed bool, err error) {
	if berr := ps.brokenErr(); berr != nil {
		ps.fail(i, berr)
		return
	}
	n, limit := &ps.fails[i], uint8(maxFailRetries)
	if closed {
		n, limit = &ps.closes[i], maxCloseRetries
	}
	if *n >= limit {
		ps.fail(i, ps.wrap(ps.paths[i], err))
		return
	}
	*n++
	ps.queue <- i
}

// next returns a path to send. It returns false when there is nothing left
// to do for the caller: every path was reported, the pass is broken (the
// queue is then drained into failures), or ctx ended.
func (ps *pass) next(ctx context.Context) (int, bool) {
	select {
	case <-ps.brokenCh:
		ps.drain()
		return 0, false
	default:
	}
	select {
	case i := <-ps.queue:
		return i, true
	case <-ps.done:
	case <-ps.brokenCh:
		ps.drain()
	case <-ctx.Done():
	}
	return 0, false
}

// drain fails every queued path with the pass's broken error.
func (ps *pass) drain() {
	err := ps.brokenErr()
	for {
		select {
		case i := <-ps.queue:
			ps.fail(i, err)
		default:
			return
		}
	}
}

func (ps *pass) brokenErr() error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.broken
}

// breaker tracks one worker's failures in a row. failed returns true, and
// marks the pass broken with err, when this is the worker's second failure
// in a row and no path was answered anywhere since its first.
type breaker struct {
	ps       *pass
	failedAt int64 // ps.answered at the first failure in a row; -1 if none
}

func (ps *pass) breaker() *breaker { return &breaker{ps: ps, failedAt: -1} }

func (b *breaker) ok() { b.failedAt = -1 }

func (b *breaker) failed(err error) bool {
	now := b.ps.answered.Load()
	if b.failedAt < 0 || now != b.failedAt {
		b.failedAt = now
		return false
	}
	b.ps.mu.Lock()
	if b.ps.broken == nil {
		b.ps.broken = err
		close(b.ps.brokenCh)
	}
	b.ps.mu.Unlock()
	b.ps.drain()
	return true
}

// result is what Stat returns once the workers are done: the context's
// error if it ended first, the broken error if no path was ever answered
// (the access point as a whole failed), nil otherwise.
func (ps *pass) result(ctx context.Context) error {
	if ps.brokenErr() != nil {
		ps.drain() // a path put back while the breaker tripped
	}
	if ps.left.Load() > 0 {
		if err := ctx.Err(); err != nil {
			return ctxErr(ctx)
		}
	}
	if err := ps.brokenErr(); err != nil && ps.answered.Load() == 0 {
		return err
	}
	return nil
}
