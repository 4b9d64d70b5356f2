package store

import (
	"context"
	"time"
)

func (m *Memory) Prune(ctx context.Context, before time.Time) (Pruned, error) {
	if err := m.lock(ctx); err != nil {
		return Pruned{}, err
	}
	defer m.mu.Unlock()
	before = normTime(before)
	latest := map[string]PassID{} // each mirror's latest result
	keep := map[PassID]bool{}
	for name, hist := range m.results {
		latest[name] = hist[len(hist)-1].Pass
		keep[latest[name]] = true
	}
	var p Pruned
	gone := map[PassID]bool{}
	kept := m.passes[:0]
	for _, ps := range m.passes {
		if ps.Started.Before(before) && !keep[ps.ID] {
			gone[ps.ID] = true
			p.Passes++
			continue
		}
		kept = append(kept, ps)
	}
	m.passes = kept
	for name, hist := range m.results {
		var rest []MirrorResult
		for _, r := range hist {
			if !gone[r.Pass] {
				rest = append(rest, r)
			}
		}
		m.results[name] = rest
	}
	for name, ps := range m.problems {
		for k, pr := range ps {
			if pr.LastSeen.Before(before) && pr.LastPass != latest[name] {
				delete(ps, k)
				p.Problems++
			}
		}
	}
	for k, received := range m.stats.batches {
		if received.Before(before) {
			delete(m.stats.batches, k)
			p.Batches++
		}
	}
	return p, nil
}
