package main

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/pando-mirror/pando/internal/serve"
)

// certReloader serves the certificate last loaded from its files, so a
// renewed certificate (certbot, ACME clients) is taken on SIGHUP without a
// restart.
type certReloader struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// loadTLS loads the certificate pair and returns the TLS configuration that
// serves it and the SIGHUP step that loads the pair again.
func loadTLS(certFile, keyFile string) (*tls.Config, reloadStep, error) {
	cfg, err := serve.LoadTLS(certFile, keyFile)
	if err != nil {
		return nil, reloadStep{}, err
	}
	r := &certReloader{certFile: certFile, keyFile: keyFile}
	r.cert.Store(&cfg.Certificates[0])
	cfg.Certificates = nil
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return r.cert.Load(), nil }
	return cfg, reloadStep{"reload", "the TLS certificate and key", r.reload}, nil
}

// reload loads the files again; on an error the old pair stays in use.
func (r *certReloader) reload() error {
	cfg, err := serve.LoadTLS(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	r.cert.Store(&cfg.Certificates[0])
	return nil
}

// A reloadStep is one thing done on SIGHUP. The log says what was done
// ("reloaded the TLS certificate and key") or what failed.
type reloadStep struct {
	verb, object string // "reload", "the TLS certificate and key"
	do           func() error
}

// onHangup runs steps, in order, at every SIGHUP until ctx ends. A step
// that fails is logged and the others still run.
func onHangup(ctx context.Context, log *slog.Logger, steps ...reloadStep) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			for _, s := range steps {
				if err := s.do(); err != nil {
					log.Error("SIGHUP: could not "+s.verb+" "+s.object+"; the old one stays in use", "err", err)
				} else {
					log.Info("SIGHUP: " + s.verb + "ed " + s.object)
				}
			}
		}
	}()
}
