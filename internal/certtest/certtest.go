// Package certtest makes the TLS certificates tests need: written to files
// for 127.0.0.1 (a self-signed one, or an authority of its own that issues
// certificates with chosen validity, expired ones included), or in memory
// for any names (Pair). It is imported only by tests.
package certtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// SelfSigned writes a self-signed certificate for 127.0.0.1, valid for an
// hour either side of now, and its key to dir, and returns their file names
// and a pool that trusts the certificate.
func SelfSigned(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key := newKey(t)
	tmpl := leafTemplate(time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	der := create(t, tmpl, tmpl, key, key)
	certFile, keyFile = write(t, dir, "cert", der, key)
	pool = x509.NewCertPool()
	pool.AddCert(parse(t, der))
	return certFile, keyFile, pool
}

// Pair returns a self-signed certificate for names (DNS names or IP
// addresses), valid for two years up to notAfter, ready for a tls.Config,
// and its parsed form.
func Pair(t testing.TB, names []string, notAfter time.Time) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key := newKey(t)
	tmpl := leafTemplate(notAfter.AddDate(-2, 0, 0), notAfter)
	tmpl.Subject, tmpl.IPAddresses = pkix.Name{CommonName: "pando test"}, nil
	tmpl.KeyUsage |= x509.KeyUsageCertSign
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der := create(t, tmpl, tmpl, key, key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, parse(t, der)
}

// A CA is a certificate authority that tests trust, for example through
// SSL_CERT_FILE=CA.File in a subprocess's environment.
type CA struct {
	File string // the authority's certificate, PEM
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA writes a new authority's certificate to dir.
func NewCA(t testing.TB, dir string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pando test CA"},
		NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(72 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der := create(t, tmpl, tmpl, key, key)
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &CA{File: file, cert: parse(t, der), key: key}
}

// Leaf issues a certificate for 127.0.0.1 valid from notBefore to notAfter
// and writes it and its key to dir.
func (ca *CA) Leaf(t testing.TB, dir string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	der := create(t, leafTemplate(notBefore, notAfter), ca.cert, key, ca.key)
	return write(t, dir, "leaf", der, key)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func leafTemplate(notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

func create(t testing.TB, tmpl, parent *x509.Certificate, key, signer *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func parse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// write writes dir/name.pem and dir/name.key (mode 0600).
func write(t testing.TB, dir, name string, der []byte, key *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
