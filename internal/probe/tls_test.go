package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/certtest"
)

// TestHTTPSH2: over TLS with ALPN h2 the HEADs go as HTTP/2 streams, and
// the certificate verifies.
func TestHTTPSH2(t *testing.T) {
	var h2, h1 atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			h1.Add(1)
		}
		w.Header().Set("Content-Length", "9")
	}))
	s.EnableHTTP2 = true
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	cfg := testConfig()
	cfg.RootCAs = x509.NewCertPool()
	cfg.RootCAs.AddCert(s.Certificate())
	p := mustNew(t, "https", s.URL+"/", cfg)

	ps := paths(200)
	got, err := statAll(t, t.Context(), p, ps)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range ps {
		if got[path].Size != 9 {
			t.Fatalf("%s: %+v", path, got[path])
		}
	}
	if h2.Load() != 200 || h1.Load() != 0 {
		t.Errorf("%d HTTP/2 and %d HTTP/1 requests, want 200 HTTP/2", h2.Load(), h1.Load())
	}
	info, err := p.(TLSProber).TLS(t.Context())
	if err != nil || info.Err != nil {
		t.Fatalf("TLS: %+v, %v", info, err)
	}
	if want := s.Certificate().NotAfter.UTC(); !info.NotAfter.Equal(want) {
		t.Errorf("NotAfter %v, want %v", info.NotAfter, want)
	}
}

// TestHTTPSPipelined: a TLS server without h2 is pipelined over TLS.
func TestHTTPSPipelined(t *testing.T) {
	var h1 atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 {
			h1.Add(1)
		}
		w.Header().Set("Content-Length", "4")
	}))
	s.StartTLS()
	t.Cleanup(s.Close)
	cfg := testConfig()
	cfg.RootCAs = x509.NewCertPool()
	cfg.RootCAs.AddCert(s.Certificate())
	p := mustNew(t, "https", s.URL+"/", cfg)
	if _, ok := p.(Lister); ok {
		t.Error("an https prober claims to list")
	}
	got, err := statAll(t, t.Context(), p, paths(100))
	if err != nil {
		t.Fatal(err)
	}
	for path, st := range got {
		if st.Size != 4 {
			t.Fatalf("%s: %+v", path, st)
		}
	}
	if h1.Load() != 100 {
		t.Errorf("%d HTTP/1.1 requests, want 100", h1.Load())
	}
}

// tlsServer serves HTTPS on loopback with a self-signed certificate for
// names (DNS names, or IP addresses), valid until notAfter. It returns the
// server's URL and a pool trusting the certificate.
func tlsServer(t *testing.T, names []string, notAfter time.Time) (string, *x509.CertPool, *x509.Certificate) {
	t.Helper()
	pair, cert := certtest.Pair(t, names, notAfter)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes

	s.StartTLS()
	t.Cleanup(s.Close)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return s.URL + "/", pool, cert
}

// TestTLSInvalid: an expired certificate and one for another name are
// reported with ErrTLS, and their NotAfter and names still read; Stat
// refuses the access point.
func TestTLSInvalid(t *testing.T) {
	yesterday := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	nextYear := time.Now().Add(365 * 24 * time.Hour).UTC().Truncate(time.Second)
	for _, c := range []struct {
		name     string
		names    []string
		notAfter time.Time
		want     string
	}{
		{"expired", []string{"127.0.0.1", "mirror.example"}, yesterday, "expired"},
		{"wrong name", []string{"other.example"}, nextYear, "cannot validate certificate for 127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, pool, _ := tlsServer(t, c.names, c.notAfter)
			cfg := testConfig()
			cfg.RootCAs = pool
			p := mustNew(t, "https", u, cfg)
			info, err := p.(TLSProber).TLS(t.Context())
			if err != nil {
				t.Fatalf("TLS: %v", err)
			}
			if !errors.Is(info.Err, ErrTLS) || !strings.Contains(info.Err.Error(), c.want) {
				t.Errorf("Err %v, want ErrTLS mentioning %q", info.Err, c.want)
			}
			if !info.NotAfter.Equal(c.notAfter) {
				t.Errorf("NotAfter %v, want %v", info.NotAfter, c.notAfter)
			}
			if !slices.Contains(info.DNSNames, c.names[len(c.names)-1]) || info.Subject != "CN=pando test" {
				t.Errorf("names %q, subject %q", info.DNSNames, info.Subject)
			}
			_, err = statAll(t, t.Context(), p, []string{"a"})
			if !errors.Is(err, ErrTLS) {
				t.Errorf("Stat: %v, want ErrTLS", err)
			}
			if _, err := p.Get(t.Context(), "a", 10); !errors.Is(err, ErrTLS) {
				t.Errorf("Get: %v, want ErrTLS", err)
			}
		})
	}
}

// TestTLSUntrusted: a certificate no root vouches for is ErrTLS.
func TestTLSUntrusted(t *testing.T) {
	u, _, cert := tlsServer(t, []string{"127.0.0.1"}, time.Now().Add(time.Hour))
	cfg := testConfig()
	cfg.RootCAs = x509.NewCertPool() // trusts nothing
	p := mustNew(t, "https", u, cfg)
	info, err := p.(TLSProber).TLS(t.Context())
	if err != nil || !errors.Is(info.Err, ErrTLS) || !info.NotAfter.Equal(cert.NotAfter.UTC()) {
		t.Errorf("TLS: %+v, %v; want ErrTLS and NotAfter %v", info, err, cert.NotAfter)
	}
}

// TestTLSNotTLS: a plain HTTP server on the https port has no certificate.
func TestTLSNotTLS(t *testing.T) {
	ln := listen(t)
	serveConns(t, ln, func(c net.Conn) {
		c.Read(make([]byte, 1024))
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	})
	p := mustNew(t, "https", "https://"+ln.Addr().String()+"/", testConfig())
	info, err := p.(TLSProber).TLS(t.Context())
	if !errors.Is(err, ErrTLS) || !errors.Is(info.Err, ErrTLS) {
		t.Errorf("TLS: %+v, %v; want ErrTLS", info, err)
	}
}
