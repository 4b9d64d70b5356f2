package get

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/upstream"
)

// A Client reads published trees over HTTP(S) with the limits and deadlines
// of an upstream.Config. Its zero value is not usable; call NewClient.
type Client struct {
	// MaxJournalBytes bounds the journal bytes one Verify reads looking for a
	// record; 0 means DefaultMaxJournalBytes.
	MaxJournalBytes int64
	// MaxAge, if positive, refuses a checkpoint signed longer ago than this
	// (a frozen origin, or a mirror serving an old state).
	MaxAge time.Duration
	// StateDir, if not "", keeps the newest checkpoint verified under each
	// origin key, and every later one must extend it: a tree that serves
	// an older signed state (a rollback) or another history (a fork) is
	// refused. See checkSeen.
	StateDir string

	cfg  upstream.Config
	http *http.Client
	now  func() time.Time
}

// NewClient returns a client with cfg's timeouts. hc, if not nil, is used
// for the requests instead of a client built from cfg; the header and idle
// deadlines of cfg apply to it too.
func NewClient(cfg upstream.Config, hc *http.Client) *Client {
	cfg = withDefaults(cfg)
	if hc == nil {
		hc = newHTTPClient(cfg)
	}
	return &Client{cfg: cfg, http: hc, now: time.Now}
}

// A Verification is a path's latest record, proved to be in an origin's
// signed log.
type Verification struct {
	Tree       string                // the tree's URL, ending in "/"
	Checkpoint checkpoint.Checkpoint // verified with the origin's key
	Record     journal.Record        // the path's latest record
	Index      int64                 // its index in the journal
	Cost       Cost                  // what proving it took
}

// Cost counts the requests and bytes one verification took.
type Cost struct {
	JournalBytes    int64 // bytes of the journal read, all from its end
	JournalRequests int
	Tiles           int // tiles fetched
}

// VerifyRecord proves the latest record of path in the signed log of the
// tree at treeURL, with a Client of default limits. A remove record is an
// error wrapping ErrRemoved, and a path no record names one wrapping
// ErrNotFound; the index and checkpoint are returned with both.
func VerifyRecord(ctx context.Context, treeURL, path string, v note.Verifier) (journal.Record, int64, checkpoint.Checkpoint, error) {
	ver, err := NewClient(upstream.Config{}, nil).Verify(ctx, treeURL, path, v)
	return ver.Record, ver.Index, ver.Checkpoint, err
}

// Verify proves the latest record of path in the signed log of the tree at
// treeURL. It fetches the checkpoint and verifies it with v (and, with a
// StateDir, checks that it extends the newest one verified before), reads the
// journal backwards from its end by Range requests until a line names path,
// checks every line it passes against the signed leaf hashes (so no later
// record of path was hidden) and proves the found line's inclusion with
// tlog.ProveRecord and tlog.CheckRecord over tiles fetched on demand. Cost:
// the checkpoint, O(log N) tiles plus one level-0 tile per 256 records
// passed, and the journal bytes from the record to the end.
//
// A remove record is returned with an error wrapping ErrRemoved; a path no
// record names gives an error wrapping ErrNotFound. A symlink record is
// returned as it is: following it is the caller's choice.
func (c *Client) Verify(ctx context.Context, treeURL, path string, v note.Verifier) (Verification, error) {
	tree, err := treeBase(treeURL)
	if err != nil {
		return Verification{}, err
	}
	if err := journal.CheckPath(path); err != nil {
		return Verification{}, err
	}
	cp, signed, err := c.checkpoint(ctx, tree, v)
	ver := Verification{Tree: tree, Checkpoint: cp}
	if err != nil {
		return ver, err
	}
	tr := &tileReader{ctx: ctx, c: c, tree: tree, cache: make(map[tlog.Tile][]byte)}
	hr := tlog.TileHashReader(tlog.Tree{N: cp.N, Hash: cp.Hash}, tr)
	if err := c.checkSeen(ctx, tree, v, cp, signed, hr); err != nil {
		ver.Cost.Tiles = tr.fetched
		return ver, err
	}
	leaves := &leafCache{hr: hr, n: cp.N, name: tree + logdir.TilePrefix + "tile/"}
	jr := &journalRanges{c: c, url: tree + logdir.JournalPath, max: c.maxJournal()}
	s := newScanner(jr.url, jr, leaves.leaf, cp.N, c.maxJournal())
	f, err := s.latest(ctx, path)
	ver.Cost = Cost{JournalBytes: s.read, JournalRequests: s.reads, Tiles: tr.fetched}
	if err != nil {
		return ver, err
	}
	err = prove(hr, cp, f)
	ver.Cost.Tiles = tr.fetched
	if err != nil {
		return ver, fmt.Errorf("%s: record %d of %s: %w", tree, f.index, path, err)
	}
	ver.Record, ver.Index = f.rec, f.index
	if f.rec.Kind == journal.Remove {
		return ver, fmt.Errorf("%s: %w at record %d", path, ErrRemoved, f.index)
	}
	return ver, nil
}

func (c *Client) maxJournal() int64 {
	if c.MaxJournalBytes > 0 {
		return c.MaxJournalBytes
	}
	return DefaultMaxJournalBytes
}

// prove checks the found line's inclusion in the signed tree.
func prove(hr tlog.HashReader, cp checkpoint.Checkpoint, f found) error {
	p, err := tlog.ProveRecord(cp.N, f.index, hr)
	if err != nil {
		return fmt.Errorf("inclusion proof: %w", err)
	}
	if err := tlog.CheckRecord(p, cp.N, cp.Hash, f.index, tlog.RecordHash(f.line)); err != nil {
		return fmt.Errorf("inclusion proof: %w", err)
	}
	return nil
}

// treeBase checks a tree URL and returns it ending in "/".
func treeBase(raw string) (string, error) {
	u, err := upstream.ParseBase(raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// checkpoint fetches the tree's checkpoint and opens it with v. It
// returns the signed note too.
func (c *Client) checkpoint(ctx context.Context, tree string, v note.Verifier) (checkpoint.Checkpoint, []byte, error) {
	u := tree + logdir.CheckpointPath
	signed, _, err := c.getSmall(ctx, u, checkpoint.MaxNoteSize, nil)
	if err != nil {
		return checkpoint.Checkpoint{}, nil, err
	}
	cp, err := checkpoint.Open(signed, v)
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		return cp, nil, fmt.Errorf("%s: not signed by the origin's key %s: %w", u, v.Name(), err)
	}
	if err != nil {
		return cp, nil, fmt.Errorf("%s: %w", u, err)
	}
	if age := c.now().Sub(cp.Time); c.MaxAge > 0 && age > c.MaxAge {
		return cp, nil, fmt.Errorf("%s: signed %v ago, at %s: older than the %v allowed", u, age.Round(time.Second), cp.Time.Format(time.RFC3339), c.MaxAge)
	}
	return cp, signed, nil
}

// maxCachedTiles bounds the tiles a tileReader keeps: the ones every
// TileHashReader call needs (to recompute the root) plus recent level-0 ones.
const maxCachedTiles = 256

// tileReader reads a tree's tiles over HTTP for tlog.TileHashReader, which
// checks every tile against the signed root before it is used.
type tileReader struct {
	ctx     context.Context
	c       *Client
	tree    string
	cache   map[tlog.Tile][]byte
	fetched int
}

func (r *tileReader) Height() int { return logdir.TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, ok := r.cache[t]
		if !ok {
			var err error
			if data, err = r.fetch(t); err != nil {
				return nil, err
			}
			r.fetched++
		}
		out[i] = data
	}
	if len(r.cache)+len(tiles) > maxCachedTiles {
		clear(r.cache)
	}
	for i, t := range tiles {
		r.cache[t] = out[i]
	}
	return out, nil
}

func (r *tileReader) fetch(t tlog.Tile) ([]byte, error) {
	u := r.tree + logdir.TilePrefix + t.Path()
	want := int64(t.W * tlog.HashSize)
	data, _, err := r.c.getSmall(r.ctx, u, want, nil)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != want {
		return nil, fmt.Errorf("%s: %d bytes, want %d", u, len(data), want)
	}
	return data, nil
}

// SaveTiles does nothing: the reader keeps no persistent cache.
func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// leafCache reads the signed leaf hashes a scanner asks for, a level-0 tile
// at a time: a scanner asks for records in descending order.
type leafCache struct {
	hr     tlog.HashReader
	n      int64
	name   string // for errors
	lo     int64
	hashes []tlog.Hash
}

func (l *leafCache) leaf(i int64) (tlog.Hash, error) {
	if i < 0 || i >= l.n {
		return tlog.Hash{}, fmt.Errorf("record %d not in a log of %d", i, l.n)
	}
	if i >= l.lo && i < l.lo+int64(len(l.hashes)) {
		return l.hashes[i-l.lo], nil
	}
	const per = 1 << logdir.TileHeight
	lo := i - i%per
	hi := min(lo+per, l.n)
	idx := make([]int64, 0, hi-lo)
	for k := lo; k < hi; k++ {
		idx = append(idx, tlog.StoredHashIndex(0, k))
	}
	hs, err := l.hr.ReadHashes(idx)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("%s: leaf hashes %d to %d: %w", l.name, lo, hi-1, err)
	}
	l.lo, l.hashes = lo, hs
	return hs[i-lo], nil
}

// journalRanges reads the journal by HTTP Range requests. A server that
// ignores Range sends the whole journal, which is then kept in memory if it
// is within max bytes.
type journalRanges struct {
	c     *Client
	url   string
	max   int64
	size  int64
	whole []byte // the whole journal, if the server ignored the Range
}

func (j *journalRanges) Tail(ctx context.Context, n int64) ([]byte, int64, error) {
	resp, err := j.c.get(ctx, j.url, http.Header{"Range": {fmt.Sprintf("bytes=-%d", n)}})
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || cr.total < 0 || cr.last != cr.total-1 || cr.last-cr.first+1 > n {
			return nil, 0, fmt.Errorf("%s: Content-Range %q is not the last %d bytes", j.url, resp.Header.Get("Content-Range"), n)
		}
		data, err := readExactly(resp.Body, cr.last-cr.first+1)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", j.url, err)
		}
		j.size = cr.total
		return data, cr.total, nil
	case http.StatusOK:
		data, err := readAtMost(resp.Body, j.max)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: the server ignores Range requests, and: %w", j.url, err)
		}
		j.whole, j.size = data, int64(len(data))
		return data[max(0, j.size-n):], j.size, nil
	case http.StatusRequestedRangeNotSatisfiable: // an empty journal
		return nil, 0, nil
	}
	return nil, 0, &upstream.StatusError{URL: j.url, Status: resp.StatusCode}
}

func (j *journalRanges) Range(ctx context.Context, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > j.size {
		return nil, fmt.Errorf("%s: bytes %d to %d outside a journal of %d", j.url, off, off+n-1, j.size)
	}
	if j.whole != nil {
		return j.whole[off : off+n], nil
	}
	resp, err := j.c.get(ctx, j.url, http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", off, off+n-1)}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return nil, &upstream.StatusError{URL: j.url, Status: resp.StatusCode}
	}
	cr, ok := parseContentRange(resp.Header.Get("Content-Range"))
	if !ok || cr.first != off || cr.last != off+n-1 {
		return nil, fmt.Errorf("%s: Content-Range %q is not bytes %d to %d", j.url, resp.Header.Get("Content-Range"), off, off+n-1)
	}
	data, err := readExactly(resp.Body, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.url, err)
	}
	return data, nil
}

// fileURL returns the URL of the tree path p below tree (which ends in "/").
func fileURL(tree, p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return tree + strings.Join(segs, "/")
}
