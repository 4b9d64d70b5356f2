package check

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/probe"
	"github.com/pando-mirror/pando/internal/store"
)

// checkMirror checks every access point of one mirror.
func checkMirror(ctx context.Context, m config.Mirror, exp *expected, prev map[string]int64,
	states map[string]map[string]store.ObjectState, opts Options) (MirrorReport, store.MirrorResult) {
	mr := MirrorReport{Name: m.Name, Enabled: m.Enabled(), OK: true, Problems: []Problem{}}
	res := store.MirrorResult{Mirror: m.Name, AllObjects: true}
	best := -1.0
	for _, ap := range m.Access() {
		kind := string(ap.Kind)
		a := &access{kind: kind, url: ap.URL, exp: exp, opts: opts, prev: prev[kind], states: states[kind]}
		a.run(ctx)
		mr.Problems = append(mr.Problems, a.problems...)
		mr.Access = append(mr.Access, a.report)
		res.Access = append(res.Access, a.result())
		res.Objects = append(res.Objects, a.objects...)
		if !a.report.OK {
			mr.OK = false
		}
		if a.report.Complete > best || (a.report.Complete == best && mr.Records == nil) {
			best = a.report.Complete
			mr.Records, mr.LagSeconds, mr.Complete = a.report.Records, a.report.LagSeconds, a.report.Complete
		}
	}
	sortProblems(mr.Problems)
	for _, p := range mr.Problems {
		res.Problems = append(res.Problems, store.Problem{Access: p.Access, Kind: p.Kind, Path: p.Path, Expected: p.Expected, Got: p.Got})
	}
	res.Checked = opts.Now()
	return mr, res
}

// access is the check of one access point.
type access struct {
	kind, url string
	exp       *expected
	opts      Options
	prev      int64                        // records seen by the last pass, 0 if none
	states    map[string]store.ObjectState // what earlier passes verified

	report   AccessReport
	problems []Problem
	objects  []store.ObjectState
	mirrorN  int64 // records of the mirror's verified checkpoint; -1 for a plain mirror
}

func (a *access) problem(kind store.ProblemKind, path, expected, got string) {
	a.problems = append(a.problems, Problem{Kind: kind, Access: a.kind, Path: path, Expected: expected, Got: got})
}

func (a *access) run(ctx context.Context) {
	a.report = AccessReport{Kind: a.kind, URL: a.url}
	p, err := a.opts.NewProber(a.kind, a.url, a.opts.Probe)
	if err != nil {
		a.problem(store.Unreachable, "", "", err.Error())
		return
	}
	defer p.Close()
	if tp, ok := p.(probe.TLSProber); ok && !a.checkTLS(ctx, tp) {
		return // nothing served over a certificate clients refuse can be trusted
	}
	if !a.checkCheckpoint(ctx, p) {
		return
	}
	a.report.Reachable = true
	sized := a.checkObjects(ctx, p)
	if l, ok := p.(probe.Lister); ok {
		a.checkExtra(ctx, l)
	}
	a.checkHashes(ctx, p, sized)
	a.report.OK = true
	for _, pr := range a.problems {
		if !pr.Warning {
			a.report.OK = false
		}
	}
}

// checkTLS checks the certificate and reports whether clients can use it.
func (a *access) checkTLS(ctx context.Context, tp probe.TLSProber) bool {
	info, err := tp.TLS(ctx)
	if err != nil {
		a.problem(kindOf(err), "", "", err.Error())
		return false
	}
	if !info.NotAfter.IsZero() {
		t := info.NotAfter
		a.report.TLSExpiry = &t
	}
	now := a.opts.Now()
	switch {
	case info.Err != nil:
		a.problem(store.TLS, "", "a valid certificate", info.Err.Error())
		return false
	case a.opts.TLSWarn > 0 && info.NotAfter.Sub(now) < a.opts.TLSWarn:
		a.problems = append(a.problems, Problem{Kind: store.TLS, Access: a.kind, Warning: true,
			Expected: "valid for " + a.opts.TLSWarn.String(), Got: "expires " + info.NotAfter.UTC().Format(time.RFC3339)})
	}
	return true
}

// checkCheckpoint reads the checkpoint the access point serves. It returns
// false if the access point does not answer at all.
func (a *access) checkCheckpoint(ctx context.Context, p probe.Prober) bool {
	a.mirrorN = -1
	signed, err := p.Get(ctx, logdir.CheckpointPath, checkpoint.MaxNoteSize)
	switch {
	case errors.Is(err, probe.ErrNotFound):
		return true // a plain mirror: checked object by object
	case err != nil:
		a.problem(kindOf(err), logdir.CheckpointPath, "", err.Error())
		return false
	}
	cp, err := checkpoint.Open(signed, a.opts.Verifier)
	if err != nil {
		a.problem(store.BadSignature, logdir.CheckpointPath, "signed by "+a.opts.Verifier.Name(), err.Error())
		return true
	}
	n := cp.N
	a.report.Records = &n
	if a.prev > cp.N {
		a.problem(store.Rollback, "", strconv.FormatInt(a.prev, 10)+" records or more", strconv.FormatInt(cp.N, 10))
		return true
	}
	root, err := a.exp.rootAt(cp.N)
	if err != nil || root != cp.Hash {
		a.problem(store.Fork, "", fmt.Sprintf("root of the origin's first %d records", cp.N), cp.Hash.String())
		return true
	}
	a.mirrorN = cp.N
	lag := int64(0)
	if since, stale := a.exp.lagSince(cp.N); stale {
		behind := a.opts.Now().Sub(time.Unix(since, 0))
		lag = max(0, int64(behind.Seconds()))
		if behind > a.opts.StaleAfter {
			a.problem(store.Stale, "", strconv.FormatInt(a.exp.N(), 10)+" records", strconv.FormatInt(cp.N, 10))
		}
	} else if a.opts.MaxAge > 0 && a.opts.Now().Sub(cp.Time) > a.opts.MaxAge {
		a.problem(store.Frozen, logdir.CheckpointPath, "signed within "+a.opts.MaxAge.String(), "signed "+cp.Time.UTC().Format(time.RFC3339))
	}
	a.report.LagSeconds = &lag
	return true
}

// due reports whether the access point should hold entry e: a pando mirror
// holds what its checkpoint covers, a plain one what was published longer
// ago than the grace period.
func (a *access) due(e *journal.Entry) bool {
	if a.mirrorN >= 0 {
		return e.Index < a.mirrorN
	}
	return a.opts.Now().Sub(time.Unix(e.Time, 0)) > a.opts.StaleAfter
}

// checkObjects checks existence and size of every live object and returns
// the entries whose size was right.
func (a *access) checkObjects(ctx context.Context, p probe.Prober) []*journal.Entry {
	byPath := make(map[string]*journal.Entry, len(a.exp.files))
	paths := make([]string, 0, len(a.exp.files))
	for _, e := range a.exp.files {
		byPath[e.Path] = e
		paths = append(paths, e.Path)
	}
	stats := make(map[string]probe.Stat, len(paths))
	err := p.Stat(ctx, paths, func(s probe.Stat) { stats[s.Path] = s })
	if err != nil {
		// The access point failed as a whole: one problem, not one per
		// object; objects it did answer for are still judged.
		a.problem(kindOf(err), "", "", err.Error())
		for path, s := range stats {
			if s.Err != nil && !errors.Is(s.Err, probe.ErrNotFound) {
				delete(stats, path)
			}
		}
	}
	now := a.opts.Now()
	var sized []*journal.Entry
	present := 0
	for _, e := range a.exp.files {
		s, answered := stats[e.Path]
		st := store.ObjectState{Access: a.kind, Path: e.Path, Record: e.Index, SHA256: hexSum(e.SHA256), Size: e.Size}
		if old, ok := a.states[e.Path]; ok && old.Record == e.Index && old.OK {
			st.HashChecked = old.HashChecked
		}
		switch {
		case !answered:
		case s.Err == nil && s.Size == e.Size:
			present++
			st.SizeChecked = now
			// A pando mirror's verified checkpoint says which version it
			// holds; for a plain mirror only a matching hash does.
			st.OK = a.mirrorN >= 0 && a.due(e) || a.mirrorN < 0 && !st.HashChecked.IsZero()
			sized = append(sized, e)
		case !a.due(e):
			// Not expected yet: counted as absent, not a problem.
		case errors.Is(s.Err, probe.ErrNotFound):
			a.problem(store.Missing, e.Path, "", "")
		case s.Err != nil:
			a.problem(kindOf(s.Err), e.Path, "", s.Err.Error())
		default:
			a.problem(store.Size, e.Path, strconv.FormatInt(e.Size, 10), strconv.FormatInt(s.Size, 10))
		}
		a.objects = append(a.objects, st)
	}
	a.report.Checked = len(stats)
	if len(a.exp.files) > 0 {
		a.report.Complete = float64(present) / float64(len(a.exp.files))
	} else {
		a.report.Complete = 1
	}
	return sized
}

// checkExtra reports files the access point lists that the log does not
// name (outside .pando) and that were not removed after its checkpoint.
func (a *access) checkExtra(ctx context.Context, l probe.Lister) {
	list, err := l.List(ctx)
	if err != nil {
		a.problem(kindOf(err), "", "", err.Error())
		return
	}
	for _, s := range list {
		if s.Path == journal.MetaDir || len(s.Path) > len(journal.MetaDir) && s.Path[:len(journal.MetaDir)+1] == journal.MetaDir+"/" {
			continue
		}
		if _, live := a.exp.log.State.Lookup(s.Path); live {
			continue
		}
		if i, ok := a.exp.lastIndex[s.Path]; ok && a.mirrorN >= 0 && i >= a.mirrorN {
			continue // removed after the mirror's checkpoint
		}
		a.problem(store.Extra, s.Path, "", strconv.FormatInt(s.Size, 10)+" bytes")
	}
}

// checkHashes hashes objects within the budget: never-hashed (newest
// first), then the longest-unhashed, so every object is re-hashed over a
// cycle of passes. A mismatch is always tampering.
func (a *access) checkHashes(ctx context.Context, p probe.Prober, sized []*journal.Entry) {
	sort.SliceStable(sized, func(i, j int) bool {
		hi, hj := a.hashedAt(sized[i]), a.hashedAt(sized[j])
		if hi.IsZero() != hj.IsZero() {
			return hi.IsZero()
		}
		if hi.IsZero() {
			return sized[i].Index > sized[j].Index
		}
		return hi.Before(hj)
	})
	index := make(map[string]int, len(a.objects))
	for i, o := range a.objects {
		index[o.Path] = i
	}
	budget := a.opts.HashBudget
	for _, e := range sized {
		if !a.opts.Full && budget < e.Size {
			break
		}
		if ctx.Err() != nil {
			return
		}
		budget -= e.Size
		got, err := hashObject(ctx, p, e.Path)
		o := &a.objects[index[e.Path]]
		switch {
		case err != nil:
			a.problem(kindOf(err), e.Path, "", err.Error())
			o.OK = false
		case got != e.SHA256:
			a.problem(store.Hash, e.Path, hexSum(e.SHA256), hexSum(got))
			o.OK, o.HashChecked = false, time.Time{}
		default:
			o.HashChecked = a.opts.Now()
			o.OK = o.OK || a.mirrorN < 0
		}
		a.report.Hashed++
	}
}

func (a *access) hashedAt(e *journal.Entry) time.Time {
	if old, ok := a.states[e.Path]; ok && old.Record == e.Index {
		return old.HashChecked
	}
	return time.Time{}
}

func hashObject(ctx context.Context, p probe.Prober, path string) ([32]byte, error) {
	r, err := p.Open(ctx, path)
	if err != nil {
		return [32]byte{}, err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}

func (a *access) result() store.AccessResult {
	r := store.AccessResult{Access: a.kind, URL: a.url, Reachable: a.report.Reachable, Records: a.report.Records,
		Complete: a.report.Complete, OK: a.report.OK}
	if a.report.LagSeconds != nil {
		r.Lag = time.Duration(*a.report.LagSeconds) * time.Second
	}
	if a.report.TLSExpiry != nil {
		r.TLSExpiry = *a.report.TLSExpiry
	}
	if len(a.problems) > 0 {
		r.Detail = a.problems[0].String()
	}
	return r
}

// kindOf classifies a probe error as a problem kind.
func kindOf(err error) store.ProblemKind {
	switch {
	case errors.Is(err, probe.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return store.Timeout
	case errors.Is(err, probe.ErrTLS):
		return store.TLS
	case errors.Is(err, probe.ErrNotFound):
		return store.Missing
	}
	return store.Unreachable
}
