package redirect

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP returns the address a request comes from: the connection's
// peer, unless that peer is a trusted proxy. Then it is the right-most
// address in X-Forwarded-For (all its fields, in order) that is not itself
// a trusted proxy: every hop to its right was appended by a proxy that is
// trusted to report the address it saw, and nothing to its left can be
// believed. A hop that does not parse ends the walk at the last address
// believed. It returns the zero Addr if RemoteAddr is not an address.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return clientAddr(ap.Addr(), func() []string { return r.Header.Values("X-Forwarded-For") }, trusted)
}

// clientAddr is ClientIP for a request from peer whose X-Forwarded-For
// values forwardedFor returns; it is called only if peer is trusted.
func clientAddr(peer netip.Addr, forwardedFor func() []string, trusted []netip.Prefix) netip.Addr {
	ip := peer.Unmap()
	if !isTrusted(ip, trusted) {
		return ip
	}
	values := forwardedFor()
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var hop string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				v, hop = v[:j], v[j+1:]
			} else {
				v, hop = "", v
			}
			a, ok := parseHop(strings.TrimSpace(hop))
			if !ok {
				return ip
			}
			ip = a
			if !isTrusted(ip, trusted) {
				return ip
			}
		}
	}
	return ip
}

// parseHop parses one X-Forwarded-For entry: an address, or an address
// with a port as some proxies write it ("192.0.2.1:1234", "[2001:db8::1]:80").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// requestScheme returns "https" for a request that came over TLS, or
// through a trusted proxy that says (X-Forwarded-Proto) it did; "http"
// otherwise.
func requestScheme(r *http.Request, trusted []netip.Prefix) string {
	var peer netip.Addr // no trusted proxy: not worth parsing
	if len(trusted) > 0 {
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			peer = ap.Addr()
		}
	}
	return schemeOf(r.TLS != nil, peer, func() string { return r.Header.Get("X-Forwarded-Proto") }, trusted)
}

// schemeOf is requestScheme for a request over TLS or not from peer, whose
// X-Forwarded-Proto forwardedProto returns; it is called only if peer is
// trusted.
func schemeOf(tls bool, peer netip.Addr, forwardedProto func() string, trusted []netip.Prefix) string {
	if tls {
		return "https"
	}
	if isTrusted(peer.Unmap(), trusted) && strings.EqualFold(forwardedProto(), "https") {
		return "https"
	}
	return "http"
}
