package hub

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"github.com/pando-mirror/pando/internal/config"
)

// Of several hubs sharing one store (PostgreSQL), one checks the mirrors
// and the others follow: each pass, a hub takes or renews the checker
// lease; the hub that holds it checks, the others compile their maps from
// the results it recorded. A checking hub that stops renewing is replaced
// once its lease expires.

// checkerLease names the lease of the hub that checks.
const checkerLease = "checker"

// leaseTerm is how long a pass's lease lasts: three intervals, so that a
// pass that runs long keeps it and a hub that died is replaced within
// about three intervals.
func leaseTerm(interval time.Duration) time.Duration { return 3 * interval }

// hubID names this hub process among those sharing a store.
func hubID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), rand.Text()[:8])
}

// takeLease takes or renews the checker lease and reports whether this
// hub checks. It logs when the checking hub changes.
func (h *Hub) takeLease(ctx context.Context, cfg *config.Config) (bool, error) {
	now := h.opts.Now()
	holder, err := h.store.Lease(ctx, checkerLease, h.id, now, now.Add(leaseTerm(cfg.Check.Interval)))
	if err != nil {
		return false, err
	}
	h.metrics.ObserveChecker(holder == h.id)
	if old := h.checker.Swap(&holder); old == nil || *old != holder {
		if holder == h.id {
			h.log.Info("this hub checks the mirrors", "hub", h.id)
		} else {
			h.log.Info("another hub checks the mirrors; following its results", "checker", holder, "hub", h.id)
		}
	}
	return holder == h.id, nil
}

// compile compiles the map from the latest results in the store (this
// hub's pass, or the checking hub's), publishes it for edges and counts the
// round.
func (h *Hub) compile(ctx context.Context) error {
	if err := h.red.rebuild(ctx); err != nil {
		return err
	}
	if err := h.export.publish(h.Map()); err != nil {
		return err
	}
	h.passes.Add(1)
	return nil
}

// Checker names the hub that checks the mirrors (this one or another
// sharing the store), or "" before the first pass.
func (h *Hub) Checker() string {
	if c := h.checker.Load(); c != nil {
		return *c
	}
	return ""
}
