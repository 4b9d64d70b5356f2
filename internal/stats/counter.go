package stats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/store"
)

// A Counter counts the downloads the hub's redirector answers: the
// redirector calls Count for every GET of an object it redirected (not for
// HEAD, mirror lists or metalinks), and Run adds the counts to the store
// (source "hub") every interval and once more when it stops. Counts are
// kept in memory in between: a hub that dies loses at most one interval of
// them. Its methods are safe for concurrent use.
type Counter struct {
	st       store.Store
	now      func() time.Time
	reporter string
	flushAt  int // pending entries that ask for an early flush
	maxHeld  int // pending entries beyond which new ones are dropped

	mu      sync.Mutex
	pending map[hubKey]int64
	retry   *store.StatBatch // a batch the store failed to take, sent first next time with the same ID
	dropped int64
	full    chan struct{}
}

type hubKey struct {
	day                   Day
	path, mirror, country string
}

// Limits on what a Counter holds between flushes.
const (
	counterFlushAt = 50_000
	counterMaxHeld = 500_000
)

// NewCounter returns a Counter that adds to st; reporter names this hub in
// the batch IDs ("" for "hub"); now gives the day of each download (nil for
// time.Now).
func NewCounter(st store.Store, reporter string, now func() time.Time) *Counter {
	if now == nil {
		now = time.Now
	}
	if reporter == "" {
		reporter = "hub"
	}
	return &Counter{st: st, now: now, reporter: reporter, flushAt: counterFlushAt, maxHeld: counterMaxHeld,
		pending: map[hubKey]int64{}, full: make(chan struct{}, 1)}
}

// Count counts one download of path redirected to mirror ("" for the
// fallback host) for a client in country (ISO 3166-1 alpha-2, "" if
// unknown).
func (c *Counter) Count(path, mirror, country string) {
	k := hubKey{DayOf(c.now()), path, mirror, country}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pending[k]; !ok && len(c.pending) >= c.maxHeld {
		c.dropped++
		return
	}
	c.pending[k]++
	if len(c.pending) == c.flushAt {
		select {
		case c.full <- struct{}{}:
		default:
		}
	}
}

// Dropped returns how many downloads were not counted: because too many
// were waiting for the store, or because the store could not take them.
func (c *Counter) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Flush adds what was counted to the store, in batches of at most
// store.MaxStatCounts. If the store fails, the batch is kept and sent
// again, with the same ID, by the next Flush.
func (c *Counter) Flush(ctx context.Context) error {
	for range c.maxHeld/store.MaxStatCounts + 2 {
		c.mu.Lock()
		b := c.retry
		c.retry = nil
		if b == nil && len(c.pending) > 0 {
			b = c.batch()
		}
		c.mu.Unlock()
		if b == nil {
			return nil
		}
		if len(b.Counts) == 0 {
			continue
		}
		if _, err := c.st.AddStats(ctx, *b); err != nil {
			c.mu.Lock()
			c.retry = b
			c.mu.Unlock()
			return fmt.Errorf("hub download counts: %w", err)
		}
	}
	return nil // what is left goes with the next flush
}

// batch moves up to store.MaxStatCounts pending counts into a batch; c.mu
// is held. Counts the store could not take (a path no object can have, a
// day out of range) are dropped.
func (c *Counter) batch() *store.StatBatch {
	now := c.now()
	first, last := SaneDays(now)
	b := &store.StatBatch{Source: store.StatsFromHub, Reporter: c.reporter, ID: newBatchID(now), Received: now}
	for k, n := range c.pending {
		if len(b.Counts) == store.MaxStatCounts {
			break
		}
		delete(c.pending, k)
		if k.day < first || k.day > last || journal.CheckPath(k.path) != nil || len(k.mirror) > maxMirrorLen ||
			k.country != "" && !validCountry(k.country) {
			c.dropped += n
			continue
		}
		b.Counts = append(b.Counts, store.StatCount{Day: k.day.String(), Path: k.path, Mirror: k.mirror,
			Country: k.country, Downloads: n})
	}
	return b
}

func newBatchID(now time.Time) string {
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("hub-%d-%s", now.UnixNano(), hex.EncodeToString(r[:]))
}

// Run flushes every interval, and early when many counts wait, until ctx
// ends; then it flushes once more (for up to 10 s) and returns. Errors are
// handed to report (which may be nil) and the counts kept for the next try.
func (c *Counter) Run(ctx context.Context, every time.Duration, report func(error)) {
	if report == nil {
		report = func(error) {}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := c.Flush(final); err != nil {
				report(err)
			}
			return
		case <-t.C:
		case <-c.full:
		}
		if err := c.Flush(ctx); err != nil {
			report(err)
		}
	}
}
