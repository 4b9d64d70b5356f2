package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
)

// Memory is a Store that keeps everything in memory, for tests and runs
// whose state need not outlive the process.
type Memory struct {
	mu       sync.Mutex
	closed   bool
	passes   []Pass                            // by ID; pruning leaves gaps
	lastPass PassID                            // the last ID handed out
	results  map[string][]MirrorResult         // by mirror, in pass order; no problems or objects
	problems map[string]map[problemKey]Problem // by mirror
	objects  map[string]map[objectKey]ObjectState
	strings  interner // of the object states kept
	meta     map[string][]byte
	stats    memStats
	leases   map[string]memLease
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		results:  map[string][]MirrorResult{},
		problems: map[string]map[problemKey]Problem{},
		objects:  map[string]map[objectKey]ObjectState{},
		meta:     map[string][]byte{},
	}
}

// lock locks the store unless ctx is done or the store closed.
func (m *Memory) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed
	}
	return nil
}

func (m *Memory) BeginPass(ctx context.Context, started time.Time) (PassID, error) {
	if started.IsZero() {
		return 0, errors.New("begin pass: start time missing")
	}
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	m.lastPass++
	m.passes = append(m.passes, Pass{ID: m.lastPass, Started: normTime(started)})
	return m.lastPass, nil
}

// passIndex returns the index of pass id in m.passes.
func (m *Memory) passIndex(id PassID) (int, bool) {
	return slices.BinarySearchFunc(m.passes, id, func(p Pass, id PassID) int { return cmp.Compare(p.ID, id) })
}

func (m *Memory) FinishPass(ctx context.Context, pass PassID, finished time.Time) error {
	if finished.IsZero() {
		return fmt.Errorf("finish pass %d: finish time missing", pass)
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	i, ok := m.passIndex(pass)
	if !ok {
		return fmt.Errorf("pass %d: %w", pass, ErrNotFound)
	}
	m.passes[i].Finished = normTime(finished)
	return nil
}

func (m *Memory) Passes(ctx context.Context, limit int) ([]Pass, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []Pass
	for i := len(m.passes) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		out = append(out, m.passes[i])
	}
	return out, nil
}

func (m *Memory) RecordMirror(ctx context.Context, pass PassID, r MirrorResult) error {
	r, err := prepare(pass, r)
	if err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.passIndex(pass); !ok {
		return fmt.Errorf("record mirror %q in pass %d: %w", r.Mirror, pass, ErrNotFound)
	}
	hist := m.results[r.Mirror]
	rerun := len(hist) > 0 && hist[len(hist)-1].Pass == pass
	if latest := len(hist) - 1; latest >= 0 && hist[latest].Pass > pass {
		return fmt.Errorf("record mirror %q in pass %d: it has results from pass %d: %w",
			r.Mirror, pass, hist[latest].Pass, ErrOldPass)
	}
	if rerun {
		hist = hist[:len(hist)-1]
	}
	var prev MirrorResult // zero if the mirror has no earlier result
	if len(hist) > 0 {
		prev = hist[len(hist)-1]
	}
	m.recordProblems(r, prev)
	m.recordObjects(r)
	r.ProblemCounts = CountProblems(r.Problems)
	r.Problems, r.Objects, r.AllObjects = nil, nil, false
	m.results[r.Mirror] = append(hist, r)
	return nil
}

// recordProblems applies the problems of r, whose mirror's previous result
// is prev, keeping the first sighting of problems seen without a break.
func (m *Memory) recordProblems(r MirrorResult, prev MirrorResult) {
	ps := m.problems[r.Mirror]
	if ps == nil {
		ps = map[problemKey]Problem{}
		m.problems[r.Mirror] = ps
	}
	seen := map[problemKey]bool{}
	for _, p := range r.Problems {
		k := p.key()
		seen[k] = true
		p.FirstPass, p.FirstSeen = r.Pass, r.Checked
		if old, ok := ps[k]; ok && (old.LastPass == r.Pass || old.LastPass == prev.Pass) {
			p.FirstPass, p.FirstSeen = old.FirstPass, old.FirstSeen
		}
		p.LastPass, p.LastSeen = r.Pass, r.Checked
		ps[k] = p
	}
	// Undo what an earlier record of the same pass said and this one does not.
	for k, p := range ps {
		if p.LastPass != r.Pass || seen[k] {
			continue
		}
		if p.FirstPass == r.Pass || prev.Pass == 0 {
			delete(ps, k)
			continue
		}
		p.LastPass, p.LastSeen = prev.Pass, prev.Checked
		ps[k] = p
	}
}

func (m *Memory) recordObjects(r MirrorResult) {
	os := m.objects[r.Mirror]
	if os == nil || r.AllObjects {
		os = map[objectKey]ObjectState{}
		m.objects[r.Mirror] = os
	}
	for _, o := range r.Objects {
		os[objectKey{o.Access, o.Path}] = m.strings.state(o)
	}
}

func (m *Memory) LatestResults(ctx context.Context) ([]MirrorResult, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := make([]MirrorResult, 0, len(m.results))
	for name, hist := range m.results {
		r := copyResult(hist[len(hist)-1])
		r.ProblemCounts = nil // only MirrorHistory gives counts
		for _, p := range m.problems[name] {
			if p.LastPass == r.Pass {
				r.Problems = append(r.Problems, p)
			}
		}
		sortProblems(r.Problems)
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mirror < out[j].Mirror })
	return out, nil
}

func (m *Memory) MirrorHistory(ctx context.Context, mirror string, since time.Time) ([]MirrorResult, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	since = normTime(since)
	var out []MirrorResult
	for _, r := range m.results[mirror] {
		if !r.Checked.Before(since) {
			out = append(out, copyResult(r))
		}
	}
	return out, nil
}

// copyResult returns r with its own copy of the access results.
func copyResult(r MirrorResult) MirrorResult {
	acc := make([]AccessResult, len(r.Access))
	for i, a := range r.Access {
		if a.Records != nil {
			n := *a.Records
			a.Records = &n
		}
		acc[i] = a
	}
	r.Access = acc
	r.ProblemCounts = maps.Clone(r.ProblemCounts)
	return r
}

func (m *Memory) Objects(ctx context.Context, mirror string) ([]ObjectState, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []ObjectState{}
	for _, o := range m.objects[mirror] {
		out = append(out, o)
	}
	sortObjects(out)
	return out, nil
}

func (m *Memory) EachObject(ctx context.Context, mirror string, fn func(ObjectState) error) error {
	objects, err := m.Objects(ctx, mirror) // a copy: fn may use the store
	if err != nil {
		return err
	}
	for _, o := range objects {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) ObjectMirrors(ctx context.Context, path string) ([]ObjectState, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []ObjectState{}
	for _, os := range m.objects {
		for k, o := range os {
			if k.path == path {
				out = append(out, o)
			}
		}
	}
	sortObjects(out)
	return out, nil
}

func (m *Memory) GetMeta(ctx context.Context, key string) ([]byte, error) {
	if err := checkMetaKey(key); err != nil {
		return nil, err
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	v, ok := m.meta[key]
	if !ok {
		return nil, fmt.Errorf("meta %q: %w", key, ErrNotFound)
	}
	return append([]byte{}, v...), nil
}

func (m *Memory) PutMeta(ctx context.Context, key string, value []byte) error {
	if err := checkMetaKey(key); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.meta[key] = append([]byte{}, value...)
	return nil
}

// Close makes every later call fail.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
