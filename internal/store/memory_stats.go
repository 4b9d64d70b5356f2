package store

import (
	"context"
	"sort"
	"time"
)

// memStats is the statistics part of Memory, guarded by its mutex.
type memStats struct {
	counts   map[statKey]int64
	batches  map[batchKey]time.Time // when each was received
	reported map[MirrorDay]bool
}

type batchKey struct {
	source   StatSource
	reporter string
	id       string
}

func (m *Memory) AddStats(ctx context.Context, b StatBatch) (bool, error) {
	rows, err := prepareStats(b)
	if err != nil {
		return false, err
	}
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	st := &m.stats
	if st.counts == nil {
		st.counts, st.batches, st.reported = map[statKey]int64{}, map[batchKey]time.Time{}, map[MirrorDay]bool{}
	}
	bk := batchKey{b.Source, b.Reporter, b.ID}
	if _, ok := st.batches[bk]; ok {
		return true, nil
	}
	st.batches[bk] = normTime(b.Received)
	for _, r := range rows {
		st.counts[r.key()] += r.Downloads
	}
	for _, d := range reportedDays(b, rows) {
		st.reported[d] = true
	}
	return false, nil
}

func (m *Memory) QueryStats(ctx context.Context, q StatsQuery) (StatsResult, error) {
	if err := checkStatsQuery(q); err != nil {
		return StatsResult{}, err
	}
	if err := m.lock(ctx); err != nil {
		return StatsResult{}, err
	}
	defer m.mu.Unlock()
	var res StatsResult
	for k, n := range m.stats.counts {
		if k.day >= q.From && k.day <= q.To && (q.Path == "" || k.path == q.Path) {
			res.Rows = append(res.Rows, StatRow{StatCount{k.day, k.path, k.mirror, k.country, n}, k.source})
		}
	}
	sortStatRows(res.Rows)
	if q.Limit > 0 && len(res.Rows) > q.Limit {
		res.Rows, res.Truncated = res.Rows[:q.Limit], true
	}
	for d := range m.stats.reported {
		if d.Day >= q.From && d.Day <= q.To {
			res.Reported = append(res.Reported, d)
		}
	}
	sort.Slice(res.Reported, func(i, j int) bool {
		a, b := res.Reported[i], res.Reported[j]
		if a.Mirror != b.Mirror {
			return a.Mirror < b.Mirror
		}
		return a.Day < b.Day
	})
	return res, nil
}
