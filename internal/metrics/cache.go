package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// A counterCache keeps the counters of a two-label CounterVec that requests
// count, so that counting one finds it in a map instead of hashing its
// label values in the vector on every request. Label values are from small
// sets (kinds, status classes, results, mirror names), so it stays small;
// a vector that is Reset must not be cached.
type counterCache struct {
	mu sync.RWMutex
	m  map[[2]string]prometheus.Counter
}

// get returns the counter of vec with the label values a and b.
func (c *counterCache) get(vec *prometheus.CounterVec, a, b string) prometheus.Counter {
	k := [2]string{a, b}
	c.mu.RLock()
	ctr, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return ctr
	}
	ctr = vec.WithLabelValues(a, b)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[[2]string]prometheus.Counter)
	}
	c.m[k] = ctr
	c.mu.Unlock()
	return ctr
}
