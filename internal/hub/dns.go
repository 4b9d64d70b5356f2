package hub

import (
	"context"

	dnsserver "github.com/pando-mirror/pando/internal/dns"
)

// serveDNS runs the authoritative DNS server of hub.toml's [dns] section
// until ctx ends; it returns nil at once when there is none. Like the
// listen address, the section is fixed for the hub's life.
func (h *Hub) serveDNS(ctx context.Context) error {
	d := h.config().DNS
	if !d.Enabled() {
		return nil
	}
	s := dnsserver.New(dnsserver.Options{
		Name: d.Name, ListName: d.ListName, Answers: d.Answers, TTL: d.TTL,
		Rate: float64(d.Rate), Burst: d.Burst,
		Map: h.Map, Geo: h.red.geo.Load, Log: h.log,
	})
	err := s.ListenAndServe(ctx, d.Listen)
	if err != nil {
		h.log.Error("dns server stopped", "err", err)
	}
	return err
}
