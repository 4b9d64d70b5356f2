package probe

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Bounds on a Config, so a typo cannot open thousands of connections to a
// mirror or keep a pass waiting for hours.
const (
	maxConns    = 64
	maxPipeline = 1024
	maxStreams  = 1024
	maxTimeout  = 10 * time.Minute
	maxRedirs   = 20
)

// withDefaults fills the zero fields of c with the documented defaults.
func (c Config) withDefaults() Config {
	if c.Conns <= 0 {
		c.Conns = 8
	}
	if c.Pipeline <= 0 {
		c.Pipeline = 16
	}
	if c.Streams <= 0 {
		c.Streams = 64
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.MaxRedirects <= 0 {
		c.MaxRedirects = 3
	}
	if c.UserAgent == "" {
		c.UserAgent = "pando-check"
	}
	return c
}

// check refuses values beyond the package's bounds.
func (c Config) check() error {
	switch {
	case c.Conns > maxConns:
		return fmt.Errorf("conns %d is more than %d", c.Conns, maxConns)
	case c.Pipeline > maxPipeline:
		return fmt.Errorf("pipeline %d is more than %d", c.Pipeline, maxPipeline)
	case c.Streams > maxStreams:
		return fmt.Errorf("streams %d is more than %d", c.Streams, maxStreams)
	case c.MaxRedirects > maxRedirs:
		return fmt.Errorf("max redirects %d is more than %d", c.MaxRedirects, maxRedirs)
	case c.ConnectTimeout > maxTimeout || c.HeaderTimeout > maxTimeout || c.IdleTimeout > maxTimeout:
		return fmt.Errorf("timeouts must be at most %v", maxTimeout)
	case strings.ContainsAny(c.UserAgent, "\r\n"):
		return fmt.Errorf("user agent %q contains a line break", c.UserAgent)
	}
	return nil
}

// New returns a prober for the access point at baseURL, the URL prefix its
// objects' slash-separated paths are appended to. kind is "http", "https",
// "rsync" or "ftp" and must match the URL's scheme. The zero fields of cfg
// take their defaults. New does no I/O.
func New(kind, baseURL string, cfg Config) (Prober, error) {
	cfg = cfg.withDefaults()
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("probe %s: %w", baseURL, err)
	}
	base, err := parseBase(kind, baseURL)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", baseURL, err)
	}
	switch kind {
	case "http":
		return newHTTP(base, cfg), nil
	case "https":
		return &httpsProber{newHTTP(base, cfg)}, nil
	case "rsync":
		return newRsync(base, cfg), nil
	default: // "ftp", checked by parseBase
		return newFTP(base, cfg), nil
	}
}

// parseBase checks that raw is a directory URL of the given kind.
func parseBase(kind, raw string) (*url.URL, error) {
	switch kind {
	case "http", "https", "rsync", "ftp":
	default:
		return nil, fmt.Errorf("unknown access point kind %q (want http, https, rsync or ftp)", kind)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != kind:
		return nil, fmt.Errorf("scheme %q does not match kind %q", u.Scheme, kind)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("no host")
	case u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, fmt.Errorf("want %s://host/path/ with no query or fragment", kind)
	case u.User != nil && kind != "ftp":
		return nil, fmt.Errorf("user information is only allowed in ftp URLs")
	case kind == "rsync" && strings.Trim(u.Path, "/") == "":
		return nil, fmt.Errorf("no rsync module in the path")
	case !strings.HasSuffix(u.Path, "/"):
		return nil, fmt.Errorf("path %q does not end in /", u.Path)
	}
	return u, nil
}

// checkPath refuses an object path that is not a clean, relative,
// slash-separated path: a server would resolve it to some other object.
func checkPath(p string) error {
	if p == "" || len(p) > maxPathLen {
		return fmt.Errorf("object path %q: empty or longer than %d bytes", p, maxPathLen)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("object path %q: empty, . or .. element", p)
		}
	}
	if strings.ContainsAny(p, "\x00\r\n") {
		return fmt.Errorf("object path %q: contains NUL or a line break", p)
	}
	return nil
}

// maxPathLen bounds an object path, as PATH_MAX does on the mirrors.
const maxPathLen = 4096

// escapePath escapes each segment of an object path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
