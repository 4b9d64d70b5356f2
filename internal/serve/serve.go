// Package serve owns pando's static file server: the HTTP handler that serves
// a published tree (an origin or a mirror) from an *os.Root, the combined
// access log, and the server around them with its timeouts, protocols and
// graceful shutdown.
//
// The handler answers GET and HEAD with ranges, strong ETags and conditional
// requests (through http.ServeContent), lists directories, and serves the
// signed log under .pando/ (the checkpoint and journal with
// "Cache-Control: no-cache"). It never serves the tree's local state under
// .pando/local, and no request path, encoding or symlink leads outside the
// tree: every file is opened through the *os.Root, or, on Linux, by an
// openat2 beneath the root that follows no symlink at all.
//
// Serve runs an http.Server on a listener until its context ends: HTTP/1.1
// and HTTP/2 over TLS, or HTTP/1.1 and HTTP/2 with prior knowledge (h2c) in
// cleartext. Other commands embed the same pieces:
//
//	h := serve.AccessLog(serve.Handler(root, serve.Options{Logger: log}), logFile)
//	err := serve.Serve(ctx, ln, h, serve.Config{Logger: log})
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// Defaults for the zero fields of a Config. docs/SERVE.md explains them.
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request (headers and body).
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout is how long a response may go without progress:
	// each write (at most ProgressChunk bytes) moves the deadline forward,
	// so a slow download that keeps moving is never cut off.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultIdleTimeout bounds how long a keep-alive connection waits for
	// its next request.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultShutdownTimeout bounds how long requests in flight may run on
	// after the server is told to stop.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultMaxHeaderBytes limits the size of a request's headers.
	DefaultMaxHeaderBytes = 16 << 10
)

// Config configures Serve. Zero fields take the defaults above.
type Config struct {
	// TLS, if set, makes Serve speak HTTPS (HTTP/1.1 and HTTP/2) with it;
	// otherwise Serve speaks cleartext HTTP/1.1 and h2c. See LoadTLS.
	TLS *tls.Config
	// Logger receives the startup line, shutdown and connection errors;
	// nil discards them.
	Logger *slog.Logger

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration // without progress; see DefaultWriteTimeout
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	MaxHeaderBytes    int
}

// WithDefaults returns c with its zero fields filled with the defaults,
// or an error naming a negative one or a TLS configuration without a
// certificate.
func (c Config) WithDefaults() (Config, error) {
	durations := []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"read header timeout", &c.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"read timeout", &c.ReadTimeout, DefaultReadTimeout},
		{"write timeout", &c.WriteTimeout, DefaultWriteTimeout},
		{"idle timeout", &c.IdleTimeout, DefaultIdleTimeout},
		{"shutdown timeout", &c.ShutdownTimeout, DefaultShutdownTimeout},
	}
	for _, f := range durations {
		switch {
		case *f.d < 0:
			return c, fmt.Errorf("negative %s %v", f.name, *f.d)
		case *f.d == 0:
			*f.d = f.def
		}
	}
	switch {
	case c.MaxHeaderBytes < 0:
		return c, fmt.Errorf("negative max header bytes %d", c.MaxHeaderBytes)
	case c.MaxHeaderBytes == 0:
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
		return c, errors.New("TLS configuration has no certificate")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c, nil
}

// Serve serves h on ln until ctx ends, then stops accepting connections,
// lets requests in flight finish for up to cfg.ShutdownTimeout, closes
// whatever is left and returns nil. It returns an error only if the
// configuration is invalid or the listener fails. It closes ln.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg Config) error {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	var srv Server = netHTTP{newServer(h, cfg)}
	if cfg.TLS != nil {
		srv = netHTTPS{newServer(h, cfg)}
	}
	return Run(ctx, ln, srv, cfg)
}

// A Server is an HTTP server that Run drives: net/http's, or another
// with the same three steps.
type Server interface {
	// Serve serves on ln until it is closed (by Shutdown or Close).
	Serve(ln net.Listener) error
	// Shutdown closes the listeners and idle connections and waits, until
	// ctx ends, for the requests in flight.
	Shutdown(ctx context.Context) error
	// Close drops the connections still open.
	Close() error
}

// Run serves srv on ln until ctx ends, then shuts it down, lets requests
// in flight finish for up to cfg.ShutdownTimeout (cfg with its defaults
// filled in), closes whatever is left and returns nil. It returns an error
// only if the listener fails. It logs the start and the shutdown, and it
// closes ln.
func Run(ctx context.Context, ln net.Listener, srv Server, cfg Config) error {
	addr := ln.Addr().String()
	cfg.Logger.Info("serving", "addr", addr, "tls", cfg.TLS != nil)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		ln.Close()
		return fmt.Errorf("serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down", "addr", addr, "grace", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		cfg.Logger.Warn("requests still running at the shutdown deadline; closing their connections",
			"addr", addr, "err", err)
		srv.Close()
	}
	ln.Close() // a Serve that had not taken the listener yet when Shutdown ran stops too
	<-errc     // what Serve returns once stopped (http.ErrServerClosed)
	return nil
}

// netHTTP and netHTTPS are net/http's server as a Server, in cleartext and
// over its TLSConfig.
type (
	netHTTP  struct{ *http.Server }
	netHTTPS struct{ *http.Server }
)

func (s netHTTPS) Serve(ln net.Listener) error { return s.ServeTLS(ln, "", "") }

// newServer returns the http.Server that Serve runs.
func newServer(h http.Handler, cfg Config) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true) // h2c with prior knowledge, for clients that want it
	return &http.Server{
		Handler:           extendOnProgress(h, cfg.WriteTimeout),
		TLSConfig:         cfg.TLS,
		Protocols:         &protos,
		HTTP2:             &http.HTTP2Config{WriteByteTimeout: cfg.WriteTimeout},
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelInfo),
	}
}

// LoadTLS reads a PEM certificate chain and its private key for Config.TLS.
// The error names the file at fault (or both, if they do not match).
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
