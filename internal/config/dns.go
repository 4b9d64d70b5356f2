package config

import (
	"strings"
	"time"
)

// Defaults and limits of the [dns] section.
const (
	DefaultDNSAnswers = 4
	DefaultDNSTTL     = 60 * time.Second
	DefaultDNSRate    = 50
	DefaultDNSBurst   = 100
	MaxDNSAnswers     = 32
	MaxDNSTTL         = 24 * time.Hour
	MaxDNSRate        = 1_000_000
)

// DNS is the hub's authoritative DNS server. It is off unless hub.toml has a
// [dns] section with a listen address.
type DNS struct {
	Listen   string        // host:port for UDP and TCP; "" when off
	Name     string        // the download name, answered with mirrors' addresses; lower case, no final dot
	ListName string        // the name whose TXT and SRV records list the mirrors; "" for none
	Answers  int           // most A (or AAAA) records in one answer
	TTL      time.Duration // of every record
	Rate     int           // queries per second per client /24 (IPv4) or /64 (IPv6)
	Burst    int           // queries a client may send at once
}

// Enabled reports whether the DNS server runs.
func (d DNS) Enabled() bool { return d.Listen != "" }

type rawDNS struct {
	Listen   string `toml:"listen"`
	Name     string `toml:"name"`
	ListName string `toml:"list_name"`
	Answers  *int   `toml:"answers"`
	TTL      string `toml:"ttl"`
	Rate     *int   `toml:"rate"`
	Burst    *int   `toml:"burst"`
}

func (v *validator) dns(raw *rawDNS, present bool) DNS {
	d := DNS{Answers: DefaultDNSAnswers, TTL: DefaultDNSTTL, Rate: DefaultDNSRate, Burst: DefaultDNSBurst}
	if !present {
		return d
	}
	if raw.Listen == "" {
		v.errorf("dns.listen: required in a [dns] section")
	} else if err := checkListen(raw.Listen); err != nil {
		v.errorf("dns.listen %q: %v", raw.Listen, err)
	} else {
		d.Listen = raw.Listen
	}
	d.Name = v.dnsName("dns.name", raw.Name, true)
	d.ListName = v.dnsName("dns.list_name", raw.ListName, false)
	if d.Name != "" && d.Name == d.ListName {
		v.errorf("dns.list_name %q: must differ from dns.name", raw.ListName)
	}
	v.intRange("dns.answers", raw.Answers, 1, MaxDNSAnswers, &d.Answers)
	v.intRange("dns.rate", raw.Rate, 1, MaxDNSRate, &d.Rate)
	v.intRange("dns.burst", raw.Burst, 1, MaxDNSRate, &d.Burst)
	v.duration("dns.ttl", raw.TTL, &d.TTL)
	if d.TTL < 0 || d.TTL > MaxDNSTTL || d.TTL%time.Second != 0 {
		v.errorf("dns.ttl %q: must be whole seconds from 0 to %s", raw.TTL, MaxDNSTTL)
	}
	return d
}

// intRange sets *dst to *p if p is given and within [lo, hi].
func (v *validator) intRange(key string, p *int, lo, hi int, dst *int) {
	if p == nil {
		return
	}
	if *p < lo || *p > hi {
		v.errorf("%s %d: must be between %d and %d", key, *p, lo, hi)
		return
	}
	*dst = *p
}

// dnsName checks a domain name, returning it in lower case without a final
// dot.
func (v *validator) dnsName(key, s string, required bool) string {
	if s == "" {
		if required {
			v.errorf("%s: required in a [dns] section", key)
		}
		return ""
	}
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	if err := CheckDomainName(name); err != "" {
		v.errorf("%s %q: %s", key, s, err)
		return ""
	}
	return name
}

// CheckDomainName returns why name (lower case, no final dot) is not a
// domain name pando can own, or "".
func CheckDomainName(name string) string {
	if len(name) > 253 {
		return "longer than 253 bytes"
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "want at least two labels, e.g. \"dl.example.org\""
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "labels must have 1 to 63 bytes"
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "labels may hold only letters, digits, '-' and '_'"
			}
		}
	}
	return ""
}
