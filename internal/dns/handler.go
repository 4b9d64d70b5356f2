package dnsserver

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/pando-mirror/pando/internal/geo"
)

// ourUDPSize is the EDNS buffer size the server advertises.
const ourUDPSize = 1232

// ServeDNS answers one query; it implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	client := addrOf(w.RemoteAddr())
	_, isUDP := w.RemoteAddr().(*net.UDPAddr)
	if !s.limit.allow(client, time.Now()) {
		if isUDP {
			return // dropped: no answer to amplify
		}
		resp := new(dns.Msg)
		resp.SetRcode(r, dns.RcodeRefused)
		w.WriteMsg(resp)
		return
	}
	resp := s.answer(r, client)
	if isUDP {
		resp.Truncate(udpSize(r))
	}
	w.WriteMsg(resp)
}

// addrOf returns the address of a client, or the zero Addr.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// udpSize is the largest UDP answer the client of r takes.
func udpSize(r *dns.Msg) int {
	if opt := r.IsEdns0(); opt != nil {
		return max(dns.MinMsgSize, min(int(opt.UDPSize()), ourUDPSize))
	}
	return dns.MinMsgSize
}

// answer builds the response to r from a client at client.
func (s *Server) answer(r *dns.Msg, client netip.Addr) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(r)
	resp.RecursionAvailable = false
	if r.Opcode != dns.OpcodeQuery {
		resp.SetRcode(r, dns.RcodeNotImplemented)
		return resp
	}
	if len(r.Question) != 1 {
		resp.SetRcode(r, dns.RcodeFormatError)
		return resp
	}
	opt := r.IsEdns0()
	if opt != nil && opt.Version() != 0 {
		resp.SetRcode(r, dns.RcodeBadVers)
		resp.SetEdns0(ourUDPSize, false)
		return resp
	}
	q := r.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	if q.Qclass != dns.ClassINET || !s.owns(name) {
		resp.SetRcode(r, dns.RcodeRefused)
		return resp
	}
	resp.Authoritative = true
	var ecs *dns.EDNS0_SUBNET
	if opt != nil {
		ecs = subnetOption(opt)
		if ecs != nil {
			client = ecsAddr(ecs)
		}
	}
	s.records(resp, q, name, client)
	if opt != nil {
		resp.SetEdns0(ourUDPSize, false)
		if ecs != nil {
			resp.IsEdns0().Option = append(resp.IsEdns0().Option, scoped(ecs))
		}
	}
	return resp
}

// records fills resp's answer for question q about an owned name.
func (s *Server) records(resp *dns.Msg, q dns.Question, name string, client netip.Addr) {
	v := s.view.Load()
	if v == nil {
		resp.Rcode = dns.RcodeServerFailure // no map yet
		return
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: uint32(s.opts.TTL / time.Second)}
	switch {
	case name == s.opts.Name && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA):
		var loc geo.Location
		if client.IsValid() && s.opts.Geo != nil {
			loc = s.opts.Geo().Lookup(client)
		}
		hdr.Rrtype = q.Qtype
		for _, a := range pick(rank(v.targets, loc), q.Qtype == dns.TypeA, s.opts.Answers) {
			resp.Answer = append(resp.Answer, addrRR(hdr, a))
		}
	case name == s.opts.ListName && q.Qtype == dns.TypeTXT:
		hdr.Rrtype = dns.TypeTXT
		for _, t := range v.targets {
			for _, u := range t.urls {
				txt := fmt.Sprintf("url=%s weight=%d cc=%s", u, t.mirror.Weight, t.mirror.Country)
				resp.Answer = append(resp.Answer, &dns.TXT{Hdr: hdr, Txt: []string{strings.TrimSuffix(txt, " cc=")}})
			}
		}
	case q.Qtype == dns.TypeSRV && name != s.opts.Name && name != s.opts.ListName:
		hdr.Rrtype = dns.TypeSRV
		resp.Answer = appendSRV(resp.Answer, hdr, v.targets, strings.TrimPrefix(strings.SplitN(name, ".", 2)[0], "_"))
	}
	if len(resp.Answer) == 0 {
		resp.Ns = append(resp.Ns, s.soa(q.Name))
	}
}

// owns reports whether name (lower case, no final dot) is one the server
// answers for: the download name, the list name and the list's SRV names
// _http._tcp and _https._tcp.
func (s *Server) owns(name string) bool {
	if name == s.opts.Name {
		return true
	}
	l := s.opts.ListName
	return l != "" && (name == l || name == "_http._tcp."+l || name == "_https._tcp."+l)
}

// appendSRV appends an SRV record for every URL of targets with the scheme
// whose host is a name (an SRV target cannot be an address), with the
// mirror's weight (at most 65535) and the URL's port, each record once.
func appendSRV(rrs []dns.RR, hdr dns.RR_Header, targets []target, scheme string) []dns.RR {
	for _, t := range targets {
		for _, u := range t.urls {
			p, err := url.Parse(u)
			if err != nil || p.Scheme != scheme {
				continue
			}
			host := strings.ToLower(p.Hostname())
			if _, err := netip.ParseAddr(host); err == nil || host == "" {
				continue
			}
			port := uint16(80)
			if scheme == "https" {
				port = 443
			}
			if n, err := strconv.ParseUint(p.Port(), 10, 16); err == nil {
				port = uint16(n)
			}
			rr := &dns.SRV{Hdr: hdr, Weight: uint16(min(t.mirror.Weight, 65535)), Port: port, Target: dns.Fqdn(host)}
			if !slices.ContainsFunc(rrs, func(o dns.RR) bool { return dns.IsDuplicate(o, rr) }) {
				rrs = append(rrs, rr)
			}
		}
	}
	return rrs
}

func addrRR(hdr dns.RR_Header, a netip.Addr) dns.RR {
	if hdr.Rrtype == dns.TypeA {
		return &dns.A{Hdr: hdr, A: net.IP(a.AsSlice())}
	}
	return &dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())}
}

// soa is the record of authority sent with an empty answer, so resolvers
// cache the absence for the configured TTL. Each owned name is the apex of
// its own zone.
func (s *Server) soa(name string) dns.RR {
	ttl := uint32(s.opts.TTL / time.Second)
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:  name, Mbox: "hostmaster." + name, Serial: 1,
		Refresh: 3600, Retry: 600, Expire: 86400, Minttl: ttl,
	}
}

func subnetOption(opt *dns.OPT) *dns.EDNS0_SUBNET {
	for _, o := range opt.Option {
		if e, ok := o.(*dns.EDNS0_SUBNET); ok {
			return e
		}
	}
	return nil
}

// ecsAddr is the client subnet's address, masked to its source prefix
// length; the zero Addr (unknown place) for a prefix length of 0.
func ecsAddr(e *dns.EDNS0_SUBNET) netip.Addr {
	a, ok := netip.AddrFromSlice(e.Address)
	if !ok || e.SourceNetmask == 0 {
		return netip.Addr{}
	}
	a = a.Unmap()
	p, err := a.Prefix(int(e.SourceNetmask))
	if err != nil {
		return netip.Addr{}
	}
	return p.Addr()
}

// scoped is the client subnet option of the response (RFC 7871 §7.2.1):
// the query's family, source prefix and address, with a scope prefix
// length equal to the source's, since the answer was chosen for that
// whole prefix.
func scoped(e *dns.EDNS0_SUBNET) *dns.EDNS0_SUBNET {
	return &dns.EDNS0_SUBNET{
		Code: dns.EDNS0SUBNET, Family: e.Family, SourceNetmask: e.SourceNetmask,
		SourceScope: e.SourceNetmask, Address: e.Address,
	}
}
