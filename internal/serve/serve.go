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
	// each write (at most progressChunk bytes) moves the deadline forward,
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
	srv := newServer(h, cfg)
	cfg.Logger.Info("serving", "addr", ln.Addr().String(), "tls", cfg.TLS != nil)
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdown(ctx, srv, cfg, ln.Addr())
	<-errc // http.ErrServerClosed, now that the listener is closed
	return nil
}

// shutdown stops srv gracefully within cfg.ShutdownTimeout, then closes the
// connections still open.
func shutdown(ctx context.Context, srv *http.Server, cfg Config, addr net.Addr) {
	cfg.Logger.Info("shutting down", "addr", addr.String(), "grace", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		cfg.Logger.Warn("requests still running at the shutdown deadline; closing their connections",
			"addr", addr.String(), "err", err)
		srv.Close()
	}
}

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
