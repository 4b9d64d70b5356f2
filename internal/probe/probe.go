// Package probe owns talking to one access point of a mirror (http, https,
// rsync or ftp) on the checker's behalf: the sizes of many objects at once,
// a whole-object read for hashing, a small metadata file, and the TLS
// certificate. Every operation has deadlines and size limits, so a hostile
// or broken mirror costs a bounded amount of time and memory and its failure
// is a classified error the checker reports, never a stall.
//
// How each protocol gets sizes fast:
//
//   - http/https: HEAD requests, written several at a time on each
//     keep-alive connection before the responses are read (HTTP/1.1
//     pipelining), on a bounded number of connections; over HTTP/2 (ALPN h2,
//     or h2c prior knowledge) many concurrent streams on one connection.
//   - rsync: one recursive listing (rsync --list-only) for the whole tree.
//   - ftp: one recursive listing (MLSD, LIST as a fall-back).
package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"time"
)

// Classes of failure. Errors returned by a Prober wrap one of these (or are
// a *StatusError), so the checker can report them by kind.
var (
	ErrUnreachable = errors.New("unreachable") // connect refused, DNS, reset before any answer
	ErrTimeout     = errors.New("timeout")     // a deadline passed: connect, headers or body
	ErrTLS         = errors.New("tls")         // handshake failed, certificate invalid or expired
	ErrNotFound    = errors.New("not found")   // the object does not exist
	ErrProtocol    = errors.New("protocol")    // a malformed or oversized answer
)

// A Stat is what an access point says about one object.
type Stat struct {
	Path string
	Size int64 // -1 when unknown
	Err  error // nil if the object exists; wraps ErrNotFound if it does not
}

// Prober talks to one access point. Implementations are safe for use by one
// goroutine at a time per method call, but Stat may itself use several
// connections.
type Prober interface {
	// Kind is "http", "https", "rsync" or "ftp".
	Kind() string
	// Stat reports every path's size, calling fn once per path in any order.
	// It returns an error only when the access point as a whole failed
	// (unreachable, timeout); per-object failures go in Stat.Err.
	Stat(ctx context.Context, paths []string, fn func(Stat)) error
	// Open reads a whole object, for hashing. The reader enforces the
	// configured idle deadline.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
	// Get reads a small object (a checkpoint) of at most limit bytes.
	Get(ctx context.Context, path string, limit int64) ([]byte, error)
	Close() error
}

// A Lister can also list every object it serves, so the checker can find
// objects the log does not name. rsync and ftp probers implement it.
type Lister interface {
	List(ctx context.Context) ([]Stat, error)
}

// TLSInfo describes an https access point's certificate.
type TLSInfo struct {
	Subject  string
	DNSNames []string
	NotAfter time.Time
	Err      error // nil if the chain and name verified; wraps ErrTLS otherwise
}

// A TLSProber can report its certificate. https probers implement it.
type TLSProber interface {
	TLS(ctx context.Context) (TLSInfo, error)
}

// Config bounds a prober.
type Config struct {
	Conns          int            // connections per access point; default 8
	Pipeline       int            // HTTP/1.1 requests in flight per connection; default 16
	Streams        int            // HTTP/2 streams in flight; default 64
	ConnectTimeout time.Duration  // default 10s
	HeaderTimeout  time.Duration  // time to each response's headers; default 30s
	IdleTimeout    time.Duration  // longest pause inside a body; default 30s
	MaxRedirects   int            // default 3
	UserAgent      string         // default "pando-check"
	RootCAs        *x509.CertPool // nil means the system roots
}
