package store

import (
	"context"
	"time"
)

// memLease is a lease kept by Memory.
type memLease struct {
	holder  string
	expires time.Time
}

func (m *Memory) Lease(ctx context.Context, name, holder string, now, until time.Time) (string, error) {
	if err := checkLease(name, holder, now, until); err != nil {
		return "", err
	}
	if err := m.lock(ctx); err != nil {
		return "", err
	}
	defer m.mu.Unlock()
	if m.leases == nil {
		m.leases = map[string]memLease{}
	}
	l, ok := m.leases[name]
	if !ok || l.holder == holder || !l.expires.After(normTime(now)) {
		l = memLease{holder: holder, expires: normTime(until)}
		m.leases[name] = l
	}
	return l.holder, nil
}
