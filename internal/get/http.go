package get

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/upstream"
)

// withDefaults is upstream's defaults with the client's own user agent.
func withDefaults(c upstream.Config) upstream.Config {
	if c.UserAgent == "" {
		c.UserAgent = "pando-get"
	}
	return c.WithDefaults()
}

// maxRedirects bounds the redirects followed per request (a hub sends one).
const maxRedirects = 5

func newHTTPClient(cfg upstream.Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       cfg.TLS,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		ResponseHeaderTimeout: cfg.HeaderTimeout,
		MaxIdleConnsPerHost:   cfg.Conns,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true, // bytes must arrive as published
	}
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

// get sends a GET for rawURL with the given extra headers. The response
// headers must arrive within HeaderTimeout, and the body is cancelled when no
// byte arrives for IdleTimeout; the caller closes it.
func (c *Client) get(ctx context.Context, rawURL string, hdr http.Header) (*http.Response, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	timer := time.AfterFunc(c.cfg.HeaderTimeout, cancel)
	resp, err := c.http.Do(req)
	if !timer.Stop() {
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("%s: no response within %v", rawURL, c.cfg.HeaderTimeout)
	}
	if err != nil {
		cancel()
		return nil, err // names the URL already
	}
	resp.Body = upstream.IdleReader(resp.Body, cancel, c.cfg.IdleTimeout)
	return resp, nil
}

var errTooLarge = errors.New("response too large")

// getSmall fetches a small document of at most limit bytes, which must come
// with status 200.
func (c *Client) getSmall(ctx context.Context, rawURL string, limit int64, hdr http.Header) ([]byte, *http.Response, error) {
	resp, err := c.get(ctx, rawURL, hdr)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp, &upstream.StatusError{URL: rawURL, Status: resp.StatusCode}
	}
	data, err := readAtMost(resp.Body, limit)
	if err != nil {
		return nil, resp, fmt.Errorf("%s: %w", rawURL, err)
	}
	return data, resp, nil
}

// readAtMost reads all of r, refusing more than limit bytes.
func readAtMost(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", errTooLarge, limit)
	}
	return data, nil
}

// readExactly reads exactly n bytes of r, refusing a shorter or longer body.
func readExactly(r io.Reader, n int64) ([]byte, error) {
	data, err := readAtMost(r, n)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != n {
		return nil, fmt.Errorf("body of %d bytes, want %d", len(data), n)
	}
	return data, nil
}

// open fetches a file from offset (a Range request when offset > 0). It
// returns the body and the offset it really starts at: 0 when the server
// answered with the whole file.
func (c *Client) open(ctx context.Context, rawURL string, offset int64) (io.ReadCloser, int64, error) {
	var hdr http.Header
	if offset > 0 {
		hdr = http.Header{"Range": {"bytes=" + strconv.FormatInt(offset, 10) + "-"}}
	}
	resp, err := c.get(ctx, rawURL, hdr)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.Body, 0, nil
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		cr, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || cr.first != offset {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("%s: Content-Range %q does not start at %d", rawURL, resp.Header.Get("Content-Range"), offset)
		}
		return resp.Body, offset, nil
	}
	resp.Body.Close()
	return nil, 0, &upstream.StatusError{URL: rawURL, Status: resp.StatusCode}
}

// contentRange is a parsed "bytes first-last/total" header; total is -1
// for "*".
type contentRange struct{ first, last, total int64 }

func parseContentRange(h string) (contentRange, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return contentRange{}, false
	}
	span, total, ok := strings.Cut(rest, "/")
	if !ok {
		return contentRange{}, false
	}
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return contentRange{}, false
	}
	cr := contentRange{total: -1}
	var err1, err2, err3 error
	cr.first, err1 = strconv.ParseInt(a, 10, 64)
	cr.last, err2 = strconv.ParseInt(b, 10, 64)
	if total != "*" {
		cr.total, err3 = strconv.ParseInt(total, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || cr.first < 0 || cr.last < cr.first || (cr.total >= 0 && cr.last >= cr.total) {
		return contentRange{}, false
	}
	return cr, true
}
