package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// A StatusError is an HTTP answer other than 200 OK (after redirects). It
// wraps ErrNotFound for 404 and 410 and ErrProtocol for any other status.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

// Unwrap returns the class of the status.
func (e *StatusError) Unwrap() error {
	if e.Status == http.StatusNotFound || e.Status == http.StatusGone {
		return ErrNotFound
	}
	return ErrProtocol
}

// classOf names the class of a network-level error: nil when err already
// wraps a class, ErrTimeout for deadlines, ErrTLS for handshake and
// certificate failures, ErrUnreachable for anything else (refused, reset,
// closed, DNS).
func classOf(err error) error {
	for _, c := range []error{ErrUnreachable, ErrTimeout, ErrTLS, ErrNotFound, ErrProtocol} {
		if errors.Is(err, c) {
			return nil
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case isTLSError(err):
		return ErrTLS
	}
	return ErrUnreachable
}

func isTLSError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		record    tls.RecordHeaderError
		alert     tls.AlertError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname)
}

// classify wraps a network-level error with its class, once. The
// *url.Error net/http adds is dropped: callers name the URL themselves.
func classify(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if c := classOf(err); c != nil {
		return withClass(c, err)
	}
	return err
}

// withClass wraps err with class, saying the class in the message unless
// err already begins with it ("tls: ...").
func withClass(class, err error) error {
	if strings.HasPrefix(err.Error(), class.Error()+":") {
		return &classed{class, err}
	}
	return fmt.Errorf("%w: %w", class, err)
}

type classed struct{ class, err error }

func (c *classed) Error() string   { return c.err.Error() }
func (c *classed) Unwrap() []error { return []error{c.class, c.err} }

// ctxErr is the error for a context that ended: a deadline is a timeout.
func ctxErr(ctx context.Context) error {
	err := context.Cause(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
