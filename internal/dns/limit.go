package dnsserver

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxClients bounds the limiter's table; past it, entries idle for a
// minute are swept, and if none are the table starts afresh.
const maxClients = 65536

// limiter limits queries per client prefix: /24 for IPv4, /64 for IPv6.
type limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	by    map[netip.Prefix]*client
}

type client struct {
	l    *rate.Limiter
	seen time.Time
}

// newLimiter returns a limiter of perSecond queries with burst; a rate of
// 0 or less allows everything.
func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	return &limiter{rate: rate.Limit(perSecond), burst: max(burst, 1), by: map[netip.Prefix]*client{}}
}

// clientPrefix is the prefix a client address is limited by.
func clientPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// allow reports whether a query from a may be answered now.
func (l *limiter) allow(a netip.Addr, now time.Time) bool {
	if l == nil {
		return true
	}
	p := clientPrefix(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.by[p]
	if !ok {
		if len(l.by) >= maxClients {
			l.sweep(now)
		}
		c = &client{l: rate.NewLimiter(l.rate, l.burst)}
		l.by[p] = c
	}
	c.seen = now
	return c.l.AllowN(now, 1)
}

func (l *limiter) sweep(now time.Time) {
	for p, c := range l.by {
		if now.Sub(c.seen) > time.Minute {
			delete(l.by, p)
		}
	}
	if len(l.by) >= maxClients {
		l.by = map[netip.Prefix]*client{}
	}
}
