package stats

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/store"
)

// A Batch is what a mirror reports in one POST /api/v1/stats: how often
// each object was downloaded from it on each day.
type Batch struct {
	Mirror  string  `json:"mirror"`
	BatchID string  `json:"batch_id"`
	Counts  []Count `json:"counts"`
}

// A Count is a number of downloads of one object on one day (UTC).
type Count struct {
	Day       string `json:"day"`
	Path      string `json:"path"`
	Country   string `json:"country,omitempty"`
	Downloads int64  `json:"downloads"`
}

// Limits on a batch.
const (
	MaxBatchBytes  = 8 << 20 // bytes in a request body
	MaxBatchCounts = 50_000  // counts in one batch
	maxBatchIDLen  = 128
	maxMirrorLen   = 255
)

// Check reports the first thing wrong with b, naming the field, as the hub
// checks it; now bounds the days (see SaneDays).
func (b *Batch) Check(now time.Time) error {
	if !ValidMirrorName(b.Mirror) {
		return fmt.Errorf("mirror %.64q: want 1 to %d lowercase letters, digits and dashes", b.Mirror, maxMirrorLen)
	}
	if !validBatchID(b.BatchID) {
		return fmt.Errorf("batch_id %.64q: want 1 to %d letters, digits and . _ : -", b.BatchID, maxBatchIDLen)
	}
	if len(b.Counts) > MaxBatchCounts {
		return fmt.Errorf("counts: %d entries, more than %d", len(b.Counts), MaxBatchCounts)
	}
	first, last := SaneDays(now)
	type key struct{ day, path, country string }
	seen := make(map[key]int, len(b.Counts))
	for i, c := range b.Counts {
		if err := c.check(first, last); err != nil {
			return fmt.Errorf("counts[%d].%w", i, err)
		}
		k := key{c.Day, c.Path, c.Country}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("counts[%d]: same day, path and country as counts[%d]", i, j)
		}
		seen[k] = i
	}
	return nil
}

func (c *Count) check(first, last Day) error {
	d, err := ParseDay(c.Day)
	if err != nil {
		return fmt.Errorf("day: %w", err)
	}
	if d < first || d > last {
		return fmt.Errorf("day: %s is not between %s and %s", c.Day, first, last)
	}
	if err := journal.CheckPath(c.Path); err != nil {
		return fmt.Errorf("path: %w", err)
	}
	if c.Country != "" && !validCountry(c.Country) {
		return fmt.Errorf("country: %.16q: want two capital letters (ISO 3166-1 alpha-2) or nothing", c.Country)
	}
	if c.Downloads < 1 || c.Downloads > store.MaxStatDownloads {
		return fmt.Errorf("downloads: %d: want 1 to %d", c.Downloads, int64(store.MaxStatDownloads))
	}
	return nil
}

// ValidMirrorName reports whether s can name a mirror in a batch: lowercase
// letters, digits and dashes, as the hub's registry names them.
func ValidMirrorName(s string) bool {
	if s == "" || len(s) > maxMirrorLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validBatchID(s string) bool {
	if s == "" || len(s) > maxBatchIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func validCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// encodeBatch writes b as JSON without HTML escaping, so that the size the
// ingester estimates holds.
func encodeBatch(b *Batch) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// counts aggregates downloads per day and path. Adding to an existing
// entry allocates nothing.
type counts struct {
	idx  map[string]int // day (4 bytes, big-endian) + path -> index in n
	n    []int64
	key  []byte // scratch
	size int    // an upper bound on the JSON of the counts
}

// countJSONOverhead bounds the bytes of a count's JSON besides its path.
const countJSONOverhead = len(`{"day":"2006-01-02","path":"","downloads":1099511627776},`) + 8

func newCounts() *counts { return &counts{idx: map[string]int{}} }

func (c *counts) add(d Day, path []byte) {
	c.key = binary.BigEndian.AppendUint32(c.key[:0], uint32(d))
	c.key = append(c.key, path...)
	if i, ok := c.idx[string(c.key)]; ok {
		c.n[i]++
		return
	}
	c.idx[string(c.key)] = len(c.n)
	c.n = append(c.n, 1)
	c.size += 2*len(path) + countJSONOverhead // a quote in a path is escaped as two bytes
}

func (c *counts) len() int { return len(c.n) }

// take returns the counts ordered by day and path, and empties c.
func (c *counts) take() []Count {
	keys := make([]string, 0, len(c.idx))
	for k := range c.idx {
		keys = append(keys, k)
	}
	sort.Strings(keys) // big-endian days of 2000 and later sort as numbers
	out := make([]Count, len(keys))
	for i, k := range keys {
		d := Day(binary.BigEndian.Uint32([]byte(k[:4])))
		out[i] = Count{Day: d.String(), Path: k[4:], Downloads: c.n[c.idx[k]]}
	}
	clear(c.idx)
	c.n, c.size = c.n[:0], 0
	return out
}
