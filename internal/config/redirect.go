package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
)

func (v *validator) redirect(raw *rawConfig) Redirect {
	r := Redirect{AllowInsecure: raw.Redirect.AllowInsecure, Candidates: DefaultCandidates}
	r.GeoIP = v.dataFile("redirect.geoip", raw.Redirect.GeoIP)
	r.ASNDB = v.dataFile("redirect.asn_db", raw.Redirect.ASNDB)
	if n := len(raw.Redirect.TrustedProxies); n > MaxTrustedProxies {
		v.errorf("redirect.trusted_proxies: %d entries, more than %d", n, MaxTrustedProxies)
	} else {
		for i, s := range raw.Redirect.TrustedProxies {
			p, err := ParseTrustedProxy(s)
			if err != nil {
				v.errorf("redirect.trusted_proxies[%d] %q: %v", i, s, err)
				continue
			}
			r.TrustedProxies = append(r.TrustedProxies, p)
		}
	}
	if c := raw.Redirect.Candidates; c != nil {
		if *c < 0 || *c > MaxCandidates {
			v.errorf("redirect.candidates %d: must be between 0 and %d", *c, MaxCandidates)
		} else {
			r.Candidates = *c
		}
	}
	return r
}

// dataFile resolves a file name against the config's directory and checks
// that it names a regular file; "" stays "" (none).
func (v *validator) dataFile(key, s string) string {
	if s == "" {
		return ""
	}
	name := s
	if !filepath.IsAbs(name) {
		name = filepath.Join(v.dir, name)
	}
	fi, err := os.Stat(name)
	switch {
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		v.errorf("%s %q: %v", key, s, err)
	case !fi.Mode().IsRegular():
		v.errorf("%s %q: not a regular file", key, s)
	}
	return name
}

// ParseTrustedProxy parses a trusted proxy: a network in CIDR notation
// ("10.0.0.0/8", "2001:db8::/32") or a single address ("192.0.2.7"). A
// network with bits set beyond its prefix length is refused, so that a typo
// does not trust more (or less) than meant.
func ParseTrustedProxy(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("must not have a zone")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New(`want an address or a network, e.g. "192.0.2.7" or "10.0.0.0/8"`)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("address bits beyond the prefix length; want %q", m.String())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, errors.New("write IPv4 networks in IPv4 notation")
	}
	return p, nil
}
