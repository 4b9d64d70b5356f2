package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// TLS connects to the access point and reports its certificate. Info.Err
// is nil only if the chain verifies against Config.RootCAs (or the system
// roots) and names the host. When it does not (expired, untrusted, wrong
// name) TLS connects a second time without verification, only to read the
// certificate presented, so NotAfter and the names are still reported; that
// connection is closed at once and never used. TLS returns an error, also
// set in Info.Err, when no certificate could be read at all.
func (p *httpsProber) TLS(ctx context.Context) (TLSInfo, error) {
	cert, err := p.handshake(ctx, false)
	if err == nil {
		return infoOf(cert, nil), nil
	}
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		err = fmt.Errorf("%s: %w", p.base, classify(err))
		return TLSInfo{Err: err}, err
	}
	verified := fmt.Errorf("%s: %w", p.base, withClass(ErrTLS, err))
	if len(verr.UnverifiedCertificates) > 0 {
		return infoOf(verr.UnverifiedCertificates[0], verified), nil
	}
	cert, err = p.handshake(ctx, true)
	if err != nil {
		return TLSInfo{Err: verified}, verified
	}
	return infoOf(cert, verified), nil
}

// handshake connects, completes a TLS handshake and returns the server's
// leaf certificate. With readOnly the chain is not verified: the caller
// only reads the certificate, and the connection is closed before any
// request.
func (p *httpsProber) handshake(ctx context.Context, readOnly bool) (*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	d := net.Dialer{Timeout: p.cfg.ConnectTimeout}
	raw, err := d.DialContext(ctx, "tcp", p.hostPort())
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	conf := p.tls.Clone()
	conf.NextProtos = []string{"h2", "http/1.1"}
	conf.InsecureSkipVerify = readOnly
	conn := tls.Client(raw, conf)
	defer conn.Close()
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no certificate presented", ErrTLS)
	}
	return certs[0], nil
}

func infoOf(cert *x509.Certificate, err error) TLSInfo {
	return TLSInfo{
		Subject:  cert.Subject.String(),
		DNSNames: cert.DNSNames,
		NotAfter: cert.NotAfter.UTC().Truncate(time.Second),
		Err:      err,
	}
}
