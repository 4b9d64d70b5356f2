package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/pando-mirror/pando/internal/logfile"
	"github.com/pando-mirror/pando/internal/serve"
)

const serveHelp = `Usage: pando serve --root DIR [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--access-log FILE|-]

Serves the published tree at DIR (an origin or a mirror) read-only over HTTP,
or over HTTPS with --tls-cert and --tls-key: GET and HEAD with byte ranges,
strong ETags and conditional requests, and an HTML listing for directories.
The signed log under .pando/ is served so that mirrors can sync from this
server (the checkpoint and journal with "Cache-Control: no-cache"); the local
state under .pando/local is never served, and no path or symlink leads outside
DIR. Cleartext listeners speak HTTP/1.1 and HTTP/2 with prior knowledge (h2c);
TLS listeners HTTP/1.1 and HTTP/2.

The address actually listened on is logged at startup (so --listen
127.0.0.1:0 picks a free port). SIGHUP reloads the TLS certificate and key
(a renewed certificate is served without a restart; one that does not load
is logged and the old one kept) and reopens the access log, for logrotate.
A download may take as long as it needs, but one that makes no progress for
60s is cut off. On SIGINT or SIGTERM the server
stops accepting connections and lets requests in flight finish for up to 10s.
docs/SERVE.md has the details and an equivalent nginx configuration.

Exit status: 0 after a clean shutdown, 1 if the tree, the address, the TLS
files or the access log cannot be used, 2 on bad usage.`

// serveFlags are the parsed flags of "pando serve".
type serveFlags struct {
	root, listen, cert, key, accessLog string
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := flags(e, "serve", serveHelp)
	var f serveFlags
	fs.StringVar(&f.root, "root", "", "serve the tree in `DIR` (required)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8001", "listen on `ADDR` (host:port; \":80\" for every interface)")
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE` (needs --tls-key)")
	fs.StringVar(&f.key, "tls-key", "", "the PEM private key in `FILE` for --tls-cert")
	fs.StringVar(&f.accessLog, "access-log", "", "append a combined-format line per request to `FILE`, or - for stdout")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	switch {
	case f.root == "":
		return usagef("need --root DIR")
	case (f.cert == "") != (f.key == ""):
		return usagef("--tls-cert and --tls-key go together")
	case f.listen == "":
		return usagef("--listen needs an address")
	}
	return serveTree(ctx, e, f)
}

// serveTree opens everything the server needs, failing on the first thing
// that cannot be used, and serves until ctx ends. SIGHUP reloads the TLS
// pair and reopens the access log.
func serveTree(ctx context.Context, e *env, f serveFlags) error {
	root, err := os.OpenRoot(f.root)
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	defer root.Close()
	log := e.logger()
	cfg := serve.Config{Logger: log}
	var steps []reloadStep
	if f.cert != "" {
		var step reloadStep
		if cfg.TLS, step, err = loadTLS(f.cert, f.key); err != nil {
			return err
		}
		steps = append(steps, step)
	}
	var h http.Handler = serve.Handler(root, serve.Options{Logger: log})
	if f.accessLog != "" {
		w, reopen, closeLog, err := openAccessLog(e, f.accessLog)
		if err != nil {
			return err
		}
		defer closeLog()
		h = serve.AccessLog(h, w)
		steps = append(steps, reloadStep{"reopen", "the access log", reopen})
	}
	ln, err := listen(ctx, f.listen)
	if err != nil {
		return err
	}
	onHangup(ctx, log, steps...)
	return serve.Serve(ctx, ln, h, cfg)
}

// listen listens on addr; the error names addr once.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err // drop "listen tcp ADDR:", which may name only part of addr
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// openAccessLog opens name for appending, or returns stdout for "-", with
// what reopens it after a rotation and what closes it.
func openAccessLog(e *env, name string) (w io.Writer, reopen, closeLog func() error, err error) {
	if name == "-" {
		nop := func() error { return nil }
		return e.stdout, nop, nop, nil
	}
	f, err := logfile.Open(name, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("access log: %w", err)
	}
	return f, f.Reopen, f.Close, nil
}
