package dnsserver

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/config"
)

// maxLookups bounds the host name lookups in flight while building a view.
const maxLookups = 16

// A view is what the server answers from one availability map.
type view struct {
	m       *availability.Map
	targets []target                // mirrors healthy for DNS, in registry order
	hosts   map[string][]netip.Addr // resolved host names, kept for the next view
}

// A target is a mirror healthy for DNS.
type target struct {
	mirror *availability.Mirror // points into the map
	urls   []string             // its complete, reachable http and https access points
	addrs  []netip.Addr         // addresses of their hosts, unique
}

// build compiles the view of m, resolving host names anew; a name that
// fails to resolve keeps its addresses from old.
func (s *Server) build(ctx context.Context, m *availability.Map, old *view) *view {
	v := &view{m: m, hosts: map[string][]netip.Addr{}}
	holders := m.Holders()
	for i := range m.Mirrors() {
		mi := &m.Mirrors()[i]
		if urls := completeURLs(mi, holders, m.Len()); len(urls) > 0 {
			v.targets = append(v.targets, target{mirror: mi, urls: urls})
		}
	}
	var prev map[string][]netip.Addr
	if old != nil {
		prev = old.hosts
	}
	s.resolveAll(ctx, v, prev)
	for i := range v.targets {
		t := &v.targets[i]
		for _, u := range t.urls {
			for _, a := range v.hosts[hostOf(u)] {
				if !slices.Contains(t.addrs, a) {
					t.addrs = append(t.addrs, a)
				}
			}
		}
	}
	return v
}

// completeURLs returns the URLs of mi's access points that make it healthy
// for DNS: http or https, reached by the latest check, holding all n
// objects. A mirror that is not Healthy has none.
func completeURLs(mi *availability.Mirror, holders []int, n int) []string {
	if !mi.Healthy() {
		return nil
	}
	var urls []string
	for _, a := range mi.Access {
		web := a.Kind == config.AccessHTTP || a.Kind == config.AccessHTTPS
		if web && a.Reachable && a.Slot >= 0 && a.Slot < len(holders) && holders[a.Slot] == n {
			urls = append(urls, a.URL)
		}
	}
	return urls
}

// hostOf returns the host of an access point's URL, without brackets.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.ToLower(p.Hostname())
}

// resolveAll fills v.hosts with the addresses of every target's hosts.
func (s *Server) resolveAll(ctx context.Context, v *view, prev map[string][]netip.Addr) {
	var names []string
	for _, t := range v.targets {
		for _, u := range t.urls {
			h := hostOf(u)
			if a, err := netip.ParseAddr(h); err == nil {
				v.hosts[h] = []netip.Addr{a.Unmap()}
			} else if h != "" && !slices.Contains(names, h) {
				names = append(names, h)
			}
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxLookups)
	for _, h := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			addrs := s.lookup(ctx, h, prev[h])
			mu.Lock()
			v.hosts[h] = addrs
			mu.Unlock()
		})
	}
	wg.Wait()
}

// lookup resolves host, falling back to cached on failure.
func (s *Server) lookup(ctx context.Context, host string, cached []netip.Addr) []netip.Addr {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ResolveTimeout)
	defer cancel()
	addrs, err := s.opts.Resolve(ctx, host)
	if err != nil || len(addrs) == 0 {
		s.opts.Log.Warn("dns: cannot resolve a mirror's host; keeping its last addresses",
			"host", host, "err", err, "cached", len(cached))
		return cached
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if a = a.Unmap(); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
