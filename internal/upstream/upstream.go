// Package upstream owns reading a published tree over HTTP(S): its signed
// checkpoint, the tail of its journal by Range, and its files, each with a
// size limit and deadlines so a slow or hostile server costs a bounded amount
// of time and memory. It trusts nothing it reads: callers verify the
// checkpoint's signature, the journal against the root and files against
// their hashes.
//
// Many small files over a long link are latency-bound, so a Client keeps many
// requests in flight on few connections: HTTP/2 over TLS, and HTTP/2 with
// prior knowledge (h2c) over cleartext when the server speaks it, falling
// back to HTTP/1.1 with a bounded pool of keep-alive connections.
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/batch"
	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

// Config bounds how a Client talks to a server.
type Config struct {
	Conns          int           // connections per server for HTTP/1.1; default 8
	ConnectTimeout time.Duration // default 10s
	HeaderTimeout  time.Duration // time to response headers; default 30s
	IdleTimeout    time.Duration // longest pause inside a body; default 60s
	UserAgent      string
	TLS            *tls.Config // nil: system roots
}

// WithDefaults returns c with every unset bound set to its default, so no
// timeout is ever zero.
func (c Config) WithDefaults() Config {
	if c.Conns <= 0 {
		c.Conns = 8
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.UserAgent == "" {
		c.UserAgent = "pando"
	}
	return c
}

// A Client reads one published tree at Base.
type Client struct {
	Base  *url.URL // ends in "/"
	Proto string   // the protocol of the first response, e.g. "HTTP/2.0" or "HTTP/1.1"
	cfg   Config
	http  *http.Client

	mu  sync.Mutex
	h2c *http.Client // HTTP/2 with prior knowledge; nil once it failed or over TLS

	// pipe fetches files over pipelined HTTP/1.1 (see pipeline.go); nil
	// behind a proxy, where files go through the http.Client.
	pipe *pipeline

	noBatch atomic.Bool // the server answered a batch request as a non-pando server would
	batchOK atomic.Bool // the server answered one as a pando server
	probing sync.Mutex  // held while Batches asks
}

// ParseBase parses an upstream URL and makes it a directory URL.
func ParseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("upstream %q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstream %q: want http(s)://host/path/ with no user, query or fragment", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// Dial returns a client for the tree at raw. It makes no request: over
// cleartext, the first request tries HTTP/2 with prior knowledge (h2c) and
// falls back to HTTP/1.1 for good if the server does not speak it, so an
// up-to-date sync costs one request.
func Dial(ctx context.Context, raw string, cfg Config) (*Client, error) {
	base, err := ParseBase(raw)
	if err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	c := &Client{Base: base, cfg: cfg, http: newHTTPClient(cfg, false)}
	if base.Scheme == "http" {
		c.h2c = newHTTPClient(cfg, true)
	}
	if proxy, err := http.ProxyFromEnvironment(&http.Request{URL: base}); err == nil && proxy == nil {
		c.pipe = newPipeline(c)
	}
	return c, nil
}

// FileProto names the protocol Open fetches files over.
func (c *Client) FileProto() string {
	if c.pipe != nil {
		return "HTTP/1.1 pipelined"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Proto
}

// do sends req, over h2c first when that is still untried or known to work.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	h2c := c.h2c
	c.mu.Unlock()
	if h2c == nil {
		return c.http.Do(req)
	}
	resp, err := h2c.Do(req)
	if err == nil || req.Context().Err() != nil {
		return resp, err
	}
	// The server does not speak HTTP/2 in clear text: use HTTP/1.1 from now on.
	c.mu.Lock()
	if c.h2c == h2c {
		c.h2c = nil
		h2c.CloseIdleConnections()
	}
	c.mu.Unlock()
	return c.http.Do(req.Clone(req.Context()))
}

func newHTTPClient(cfg Config, h2c bool) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       cfg.TLS,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.HeaderTimeout,
		MaxIdleConnsPerHost:   cfg.Conns,
		MaxConnsPerHost:       cfg.Conns,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true, // bytes must arrive as published
	}
	if h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			return nil
		},
	}
}

// Close releases the client's idle connections.
func (c *Client) Close() {
	if c.pipe != nil {
		c.pipe.close()
	}
	c.http.CloseIdleConnections()
	c.mu.Lock()
	if c.h2c != nil {
		c.h2c.CloseIdleConnections()
	}
	c.mu.Unlock()
}

// URL returns the URL of a tree path.
func (c *Client) URL(p string) string { return c.Base.String() + escapePath(p) }

// target returns the request target (the escaped absolute path) of a tree
// path.
func (c *Client) target(p string) string { return c.Base.EscapedPath() + escapePath(p) }

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func (c *Client) request(ctx context.Context, method, p string, offset int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL(p), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	return req, nil
}

// A StatusError is an HTTP response other than the one asked for.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

// get fetches p from offset and returns the body, positioned at offset, and
// the offset it actually starts at (0 if the server ignored the Range).
func (c *Client) get(ctx context.Context, p string, offset int64) (io.ReadCloser, int64, *http.Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := c.request(ctx, http.MethodGet, p, offset)
	if err != nil {
		cancel()
		return nil, 0, nil, err
	}
	resp, err := c.do(req)
	if err != nil {
		cancel()
		return nil, 0, nil, err
	}
	c.mu.Lock()
	if c.Proto == "" {
		c.Proto = resp.Proto
	}
	c.mu.Unlock()
	start, err := startOf(req.URL.String(), resp, offset)
	if err != nil {
		resp.Body.Close()
		cancel()
		return nil, 0, nil, err
	}
	return newIdleReader(resp.Body, cancel, c.cfg.IdleTimeout), start, resp, nil
}

// startOf returns the offset resp's body starts at, given a request for the
// bytes of url from offset: offset for a matching 206, 0 for a 200 (the
// server ignored the Range). Any other answer is an error.
func startOf(url string, resp *http.Response, offset int64) (int64, error) {
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		if got, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || got != offset {
			return 0, fmt.Errorf("%s: Content-Range %q does not start at %d", url, resp.Header.Get("Content-Range"), offset)
		}
		return offset, nil
	case resp.StatusCode == http.StatusOK:
		return 0, nil
	default:
		return 0, &StatusError{URL: url, Status: resp.StatusCode}
	}
}

func contentRangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}

// Checkpoint fetches the tree's checkpoint and verifies its signature.
func (c *Client) Checkpoint(ctx context.Context, v note.Verifier) (checkpoint.Checkpoint, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HeaderTimeout+c.cfg.IdleTimeout)
	defer cancel()
	body, _, _, err := c.get(ctx, logdir.CheckpointPath, 0)
	if err != nil {
		return checkpoint.Checkpoint{}, nil, err
	}
	defer body.Close()
	signed, err := readAtMost(body, checkpoint.MaxNoteSize)
	if err != nil {
		return checkpoint.Checkpoint{}, nil, fmt.Errorf("%s: %w", c.URL(logdir.CheckpointPath), err)
	}
	cp, err := checkpoint.Open(signed, v)
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		return cp, nil, fmt.Errorf("%s: not signed by the origin's key %s: %w", c.URL(logdir.CheckpointPath), v.Name(), err)
	}
	if err != nil {
		return cp, nil, fmt.Errorf("%s: %w", c.URL(logdir.CheckpointPath), err)
	}
	return cp, signed, nil
}

// JournalTail fetches records first .. first+n-1 of the journal, given that
// the local journal of first records is offset bytes long, by a Range
// request for the bytes after offset.
func (c *Client) JournalTail(ctx context.Context, offset, first, n int64) ([][]byte, error) {
	if n == 0 {
		return nil, nil
	}
	body, start, _, err := c.get(ctx, logdir.JournalPath, offset)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	if start == 0 && offset > 0 { // no Range support: skip what we have
		if _, err := io.CopyN(io.Discard, body, offset); err != nil {
			return nil, fmt.Errorf("%s: %w", c.URL(logdir.JournalPath), err)
		}
	}
	data, err := readAtMost(body, n*journal.MaxLineLen)
	if err != nil && !errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("%s: %w", c.URL(logdir.JournalPath), err)
	}
	lines, err := journal.Lines(data, first, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.URL(logdir.JournalPath), err)
	}
	return lines, nil
}

// Extend fetches the records the verified checkpoint cp adds to old, the
// upstream's previous log as the caller holds it, and returns old extended by
// them, and them. It refuses a rollback or fork against old, and a journal that does
// not reproduce cp's root (altered, or forked from old).
func (c *Client) Extend(ctx context.Context, old *logdir.Log, cp checkpoint.Checkpoint) (*logdir.Log, []journal.Record, error) {
	if err := checkpoint.Compare(old.Checkpoint, cp); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.Base, err)
	}
	lines, err := c.JournalTail(ctx, int64(len(old.Journal)), old.N(), cp.N-old.N())
	if err != nil {
		return nil, nil, err
	}
	next, recs, err := old.Extend(lines)
	if err != nil {
		// Bytes after our own that are not records in sequence: the
		// upstream's journal does not continue ours.
		return nil, nil, fmt.Errorf("%s: does not continue the local %d records: the journal was altered, or the log forked (%w): %v",
			c.URL(logdir.JournalPath), old.N(), checkpoint.ErrFork, err)
	}
	if next.Checkpoint.Hash != cp.Hash {
		return nil, nil, fmt.Errorf("%s: journal records %d to %d do not reproduce the signed root: the journal was altered, or the log forked (%w)",
			c.Base, old.N(), cp.N-1, checkpoint.ErrFork)
	}
	next.Checkpoint = cp
	return next, recs, nil
}

// Open fetches a tree path from offset. It returns the body and the offset
// the body actually starts at, which is 0 if the server ignored the Range.
// Files go over pipelined HTTP/1.1 (FileProto), many requests in flight on
// each of at most Config.Conns connections; the body must be read to its end
// or closed before the connection reads the next answer.
func (c *Client) Open(ctx context.Context, p string, offset int64) (io.ReadCloser, int64, error) {
	if c.pipe == nil {
		body, start, _, err := c.get(ctx, p, offset)
		return body, start, err
	}
	resp, body, err := c.pipe.get(ctx, c.target(p), offset)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", c.URL(p), err)
	}
	start, err := startOf(c.URL(p), resp, offset)
	if err != nil {
		body.Close()
		return nil, 0, err
	}
	return body, start, nil
}

var errTooLarge = errors.New("response larger than expected")

func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return data[:limit], fmt.Errorf("%w (%d bytes)", errTooLarge, limit)
	}
	return data, nil
}

// IdleReader returns rc that calls cancel (ending its request) when no byte
// arrives for idle, so a server that drips or stalls cannot hold a reader
// forever. Closing it closes rc and calls cancel.
func IdleReader(rc io.ReadCloser, cancel context.CancelFunc, idle time.Duration) io.ReadCloser {
	return newIdleReader(rc, cancel, idle)
}

// idleReader cancels its request when no byte arrives for a while, so a
// server that drips or stalls cannot hold a worker forever.
type idleReader struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	timer  *time.Timer
	idle   time.Duration
}

func newIdleReader(rc io.ReadCloser, cancel context.CancelFunc, idle time.Duration) *idleReader {
	return &idleReader{rc: rc, cancel: cancel, timer: time.AfterFunc(idle, cancel), idle: idle}
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.timer.Reset(r.idle)
	}
	if err != nil && !errors.Is(err, io.EOF) && !r.timer.Stop() {
		err = fmt.Errorf("no data for %v: %w", r.idle, err)
	}
	return n, err
}

func (r *idleReader) Close() error {
	r.timer.Stop()
	err := r.rc.Close()
	r.cancel()
	return err
}

// Batches reports whether the server answers batch requests, asking it
// with an empty one the first time; callers meanwhile wait for that answer.
// A server that fails to answer is taken not to, for this call only.
func (c *Client) Batches(ctx context.Context) bool {
	if c.noBatch.Load() {
		return false
	}
	if c.batchOK.Load() {
		return true
	}
	c.probing.Lock()
	defer c.probing.Unlock()
	if c.noBatch.Load() || c.batchOK.Load() {
		return c.batchOK.Load()
	}
	r, err := c.Batch(ctx, nil, 0)
	if err != nil {
		return false
	}
	defer r.Close()
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		return false // an entry for no path
	}
	c.batchOK.Store(true)
	return true
}

// ErrNoBatch means the server does not answer batch requests (it is not a
// pando server, or an older one): fetch its files one by one.
var ErrNoBatch = errors.New("the server does not answer batch requests")

// Batch asks for the files at paths in one request (package batch) and
// returns a reader of the answer's entries, which refuses an entry larger
// than max bytes. Closing the reader ends the request. A server that does
// not answer batches gets ErrNoBatch, at once for every later call too.
func (c *Client) Batch(ctx context.Context, paths []string, max int64) (*BatchReader, error) {
	if c.noBatch.Load() {
		return nil, ErrNoBatch
	}
	u := c.URL(batch.Path)
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(batch.AppendRequest(nil, paths)))
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK && resp.Header.Get("Content-Type") == batch.ContentType:
	case code == http.StatusTooManyRequests || code >= 500 && code != http.StatusNotImplemented:
		resp.Body.Close()
		cancel()
		return nil, &StatusError{URL: u, Status: code} // may pass
	default: // 404, 405, 501, a page instead of an answer: it never will
		resp.Body.Close()
		cancel()
		c.noBatch.Store(true)
		return nil, ErrNoBatch
	}
	body := newIdleReader(resp.Body, cancel, c.cfg.IdleTimeout)
	return &BatchReader{Reader: batch.NewReader(body, max), body: body, url: u}, nil
}

// A BatchReader reads the entries of a batch answer (see batch.Reader);
// its errors name the request's URL.
type BatchReader struct {
	*batch.Reader
	body io.Closer
	url  string
}

// Next moves to the next entry (batch.Reader.Next).
func (b *BatchReader) Next() (size int64, ok bool, err error) {
	size, ok, err = b.Reader.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s: %w", b.url, err)
	}
	return size, ok, err
}

// Read reads the current entry's bytes.
func (b *BatchReader) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s: %w", b.url, err)
	}
	return n, err
}

// Close ends the request.
func (b *BatchReader) Close() error { return b.body.Close() }
