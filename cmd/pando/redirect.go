package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/edge"
	"github.com/pando-mirror/pando/internal/geo"
	"github.com/pando-mirror/pando/internal/metrics"
	"github.com/pando-mirror/pando/internal/redirect"
	"github.com/pando-mirror/pando/internal/serve"
)

const redirectHelp = `Usage: pando redirect --map FILE|URL --pubkey HUB.pub [--listen ADDR] [--geoip FILE]
       [--asn-db FILE] [--fallback URL] [--trusted-proxy CIDR ...] [--reload 10s]

Runs the redirector alone, at the edge: no store and no checker, only the
signed availability map a hub publishes. It loads the map from FILE or an
http(s) URL, verifies it with the hub's public key (made by "pando keygen";
the key text or a file holding it), and answers every GET and HEAD with a 302
to a nearby mirror verified to hold the file, with RFC 6249 Link
alternatives and the file's digest; ?mirrorlist, .meta4 and /mirrors.json as
the hub does (docs/REDIRECT.md). GET /metrics counts requests and redirects
per mirror in the Prometheus text format (docs/METRICS.md). In cleartext it
speaks HTTP/1.1 through a server made for many small answers; with
--tls-cert, HTTP/1.1 and HTTP/2.

Every --reload interval it reads the map again (a URL conditionally, a file
when its size or modification time changed) and swaps a new map in without
dropping a request. A map whose signature or body does not verify, that is
older than the one in use, or names another origin, is refused with a logged
error and the map in use kept. The first map must load, or the command fails.
SIGHUP reads the map at once, reloads the TLS certificate and key, and
reopens the access log.

Client locations come from --geoip, a MaxMind-format country or city database
(GeoLite2 or DB-IP lite), and --asn-db; without them mirrors are chosen by
weight alone. X-Forwarded-For and X-Forwarded-Proto are believed only from
--trusted-proxy addresses or networks (repeatable). The time from start to
ready is logged. On SIGINT or SIGTERM requests in flight finish for up to 10s.

Exit status: 0 after a clean shutdown, 1 if the map, key, databases or
address cannot be used, 2 on bad usage.`

// redirectFlags are the parsed flags of "pando redirect".
type redirectFlags struct {
	mapLoc, pubkey, listen, geoip, asnDB, fallback string
	cert, key, accessLog                           string
	proxies                                        stringList
	reload                                         time.Duration
	candidates                                     int
	allowInsecure                                  bool
}

func runRedirect(ctx context.Context, e *env, args []string) error {
	start := time.Now()
	fs := flags(e, "redirect", redirectHelp)
	var f redirectFlags
	fs.StringVar(&f.mapLoc, "map", "", "the signed availability map: a `FILE` or an http(s) URL (required)")
	fs.StringVar(&f.pubkey, "pubkey", "", "the hub's verifier `KEY`, or a file holding it (required)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "listen on `ADDR` (host:port)")
	fs.StringVar(&f.geoip, "geoip", "", "MaxMind-format country or city database `FILE`")
	fs.StringVar(&f.asnDB, "asn-db", "", "MaxMind-format ASN database `FILE`")
	fs.StringVar(&f.fallback, "fallback", "", "send what no mirror serves to this `URL` prefix (default: the map's)")
	fs.Var(&f.proxies, "trusted-proxy", "believe X-Forwarded-For from this address or `CIDR` (repeatable)")
	fs.DurationVar(&f.reload, "reload", 10*time.Second, "re-read the map this often; 0 never")
	fs.IntVar(&f.candidates, "candidates", config.DefaultCandidates, "alternatives to list in Link headers")
	fs.BoolVar(&f.allowInsecure, "allow-insecure", false, "let HTTPS requests go to http mirrors")
	fs.StringVar(&f.cert, "tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE` (needs --tls-key)")
	fs.StringVar(&f.key, "tls-key", "", "the PEM private key in `FILE` for --tls-cert")
	fs.StringVar(&f.accessLog, "access-log", "", "append a combined-format line per request to `FILE`, or - for stdout")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	return runEdge(ctx, e, f, opts, start)
}

// options validates the flags and returns the handler's options.
func (f *redirectFlags) options() (redirect.Options, error) {
	var opts redirect.Options
	switch {
	case f.mapLoc == "":
		return opts, usagef("need --map FILE or URL")
	case f.pubkey == "":
		return opts, usagef("need --pubkey, the hub's public key")
	case (f.cert == "") != (f.key == ""):
		return opts, usagef("--tls-cert and --tls-key go together")
	case f.reload < 0:
		return opts, usagef("--reload %v: must not be negative", f.reload)
	case f.candidates < 0 || f.candidates > config.MaxCandidates:
		return opts, usagef("--candidates %d: must be between 0 and %d", f.candidates, config.MaxCandidates)
	}
	opts.Candidates, opts.AllowInsecure = f.candidates, f.allowInsecure
	for _, s := range f.proxies {
		p, err := config.ParseTrustedProxy(s)
		if err != nil {
			return opts, usagef("--trusted-proxy %q: %v", s, err)
		}
		opts.TrustedProxies = append(opts.TrustedProxies, p)
	}
	if f.fallback != "" {
		u, err := fallbackURL(f.fallback)
		if err != nil {
			return opts, usagef("--fallback %q: %v", f.fallback, err)
		}
		opts.Fallback = u
	}
	return opts, nil
}

// fallbackURL checks an http(s) URL prefix and makes it end in "/".
func fallbackURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("scheme must be http or https")
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("want http(s)://host/path/ without user, query or fragment")
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// runEdge loads the first map and serves until ctx ends.
func runEdge(ctx context.Context, e *env, f redirectFlags, opts redirect.Options, start time.Time) error {
	log := e.logger()
	v, err := checkpoint.LoadVerifier(f.pubkey)
	if err != nil {
		return err
	}
	g, err := geo.Open(f.geoip, f.asnDB)
	if err != nil {
		return err
	}
	defer g.Close()
	src := redirect.NewSource(f.mapLoc, v, &http.Client{})
	if _, err := src.Reload(ctx); err != nil {
		return fmt.Errorf("availability map: %w", err)
	}
	cfg := serve.Config{Logger: log}
	steps := []reloadStep{{"reload", "the availability map", func() error { _, err := src.Reload(ctx); return err }}}
	if f.cert != "" {
		var step reloadStep
		if cfg.TLS, step, err = loadTLS(f.cert, f.key); err != nil {
			return err
		}
		steps = append(steps, step)
	}
	rd := redirect.Handler(src.Map, g, opts)
	m := metrics.New()
	h := edgeHandler(rd, m)
	var accessLog *serve.AccessLogger
	if f.accessLog != "" {
		w, reopen, closeLog, err := openAccessLog(e, f.accessLog)
		if err != nil {
			return err
		}
		defer closeLog()
		accessLog = serve.NewAccessLogger(w)
		h = accessLog.Wrap(h)
		steps = append(steps, reloadStep{"reopen", "the access log", reopen})
	}
	ln, err := listen(ctx, f.listen)
	if err != nil {
		return err
	}
	log.Info("redirector ready", "addr", ln.Addr().String(), "startup", time.Since(start).Round(time.Microsecond),
		"map", src.Map().String(), "geoip", g.Describe(), "trusted_proxies", prefixList(opts.TrustedProxies))
	if f.reload > 0 {
		go src.Run(ctx, f.reload, log)
	}
	onHangup(ctx, log, steps...)
	if cfg.TLS != nil {
		return serve.Serve(ctx, ln, h, cfg)
	}
	return edge.Serve(ctx, ln, rd, h, edge.Config{Server: cfg, Metrics: m, AccessLog: accessLog})
}

// edgeHandler serves GET /metrics of m beside the redirector h and counts
// in m what h answers. It is not a ServeMux, so every other path reaches h
// exactly as it came.
func edgeHandler(h http.Handler, m *metrics.Metrics) http.Handler {
	scrape := m.Handler()
	counted := metrics.Wrap(h, m)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			scrape.ServeHTTP(w, r)
			return
		}
		counted.ServeHTTP(w, r)
	})
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
