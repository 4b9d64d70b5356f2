// Package check owns finding out, for every mirror and every access point it
// offers, exactly what it serves compared with the origin's signed log:
// whether it answers, its TLS certificate, the checkpoint it serves and so
// its lag, which objects are present with the right size, whether sampled
// contents hash right, and what it serves that the log does not name.
//
// A pass never stalls on one mirror: every request has a deadline (package
// probe), and every failure becomes a Problem on that mirror while the pass
// goes on. Results go to the store, from which the hub compiles its
// availability map.
package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/errgroup"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/logdir"
	"github.com/pando-mirror/pando/internal/probe"
	"github.com/pando-mirror/pando/internal/store"
)

// Options are the checker's policy for one pass.
type Options struct {
	Verifier   note.Verifier
	MaxAge     time.Duration // a checkpoint signed longer ago is frozen
	StaleAfter time.Duration // grace before a mirror behind the origin is a problem
	HashBudget int64         // bytes hashed per access point per pass
	Full       bool          // hash every object
	TLSWarn    time.Duration // warn about a certificate expiring within this
	Parallel   int           // mirrors checked at once; default 16
	Probe      probe.Config
	NewProber  func(kind, url string, cfg probe.Config) (probe.Prober, error) // default probe.New
	Now        func() time.Time
	Log        *slog.Logger
}

// OptionsFromConfig returns the options hub.toml sets.
func OptionsFromConfig(c *config.Config) Options {
	return Options{
		Verifier:   c.Origin.Verifier,
		MaxAge:     c.Origin.MaxAge,
		StaleAfter: c.Check.Interval,
		HashBudget: c.Check.HashBudget,
		TLSWarn:    c.Check.TLSWarn,
		Probe: probe.Config{
			Conns:         c.Check.Connections,
			HeaderTimeout: c.Check.Timeout,
			IdleTimeout:   c.Check.Timeout,
		},
	}
}

func (o Options) withDefaults() Options {
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	if o.NewProber == nil {
		o.NewProber = probe.New
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// A Report is what one pass found.
type Report struct {
	Pass     store.PassID   `json:"pass"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Origin   OriginReport   `json:"origin"`
	Mirrors  []MirrorReport `json:"mirrors"`
}

// OriginReport describes the expected state.
type OriginReport struct {
	URL        string    `json:"url"`
	Records    int64     `json:"records"`
	Root       string    `json:"root"`
	Signed     time.Time `json:"signed"`
	AgeSeconds int64     `json:"age_seconds"`
	Frozen     bool      `json:"frozen"`
	Objects    int       `json:"objects"`
}

// MirrorReport is one mirror's health.
type MirrorReport struct {
	Name       string         `json:"name"`
	OK         bool           `json:"ok"`
	Enabled    bool           `json:"enabled"`
	Records    *int64         `json:"records"`
	LagSeconds *int64         `json:"lag_seconds"`
	Complete   float64        `json:"complete"`
	Problems   []Problem      `json:"problems"`
	Access     []AccessReport `json:"access"`
	// Superseded is set when another checker sharing the store recorded
	// this mirror in a later pass first: that newer result is kept, and
	// this one is only reported.
	Superseded bool `json:"superseded,omitempty"`
}

// AccessReport is one access point's health.
type AccessReport struct {
	Kind       string     `json:"kind"`
	URL        string     `json:"url"`
	Reachable  bool       `json:"reachable"`
	OK         bool       `json:"ok"`
	Records    *int64     `json:"records"`
	LagSeconds *int64     `json:"lag_seconds"`
	Complete   float64    `json:"complete"`
	TLSExpiry  *time.Time `json:"tls_expiry,omitempty"`
	Checked    int        `json:"checked"`
	Hashed     int        `json:"hashed"`
}

// A Problem is one thing wrong at a mirror. Warnings (a certificate that
// expires soon) are reported but do not make the mirror unhealthy.
type Problem struct {
	Kind     store.ProblemKind `json:"kind"`
	Access   string            `json:"access"`
	Path     string            `json:"path,omitempty"`
	Expected string            `json:"expected,omitempty"`
	Got      string            `json:"got,omitempty"`
	Warning  bool              `json:"warning,omitempty"`
}

func (p Problem) String() string {
	s := string(p.Kind)
	if p.Access != "" {
		s += " [" + p.Access + "]"
	}
	if p.Path != "" {
		s += " " + p.Path
	}
	if p.Expected != "" || p.Got != "" {
		s += fmt.Sprintf(": expected %s, got %s", p.Expected, p.Got)
	}
	if p.Warning {
		s += " (warning)"
	}
	return s
}

// Pass checks mirrors against origin, records what it found in st and
// returns the report. It fails only when the store does; every mirror's
// failures are problems in the report.
func Pass(ctx context.Context, st store.Store, origin *logdir.Log, originURL string, mirrors []config.Mirror, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	started := opts.Now()
	id, err := st.BeginPass(ctx, started)
	if err != nil {
		return nil, err
	}
	exp := newExpected(origin)
	prev, err := previousRecords(ctx, st)
	if err != nil {
		return nil, err
	}
	rep := &Report{Pass: id, Started: started, Origin: originReport(origin, originURL, exp, opts)}
	rep.Mirrors = make([]MirrorReport, len(mirrors))
	var mu sync.Mutex // serializes store writes
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Parallel)
	for i, m := range mirrors {
		g.Go(func() error {
			states, err := objectStates(gctx, st, m.Name)
			if err != nil {
				return err
			}
			mr, res := checkMirror(gctx, m, exp, prev[m.Name], states, opts)
			mu.Lock()
			defer mu.Unlock()
			err = st.RecordMirror(gctx, id, res)
			if errors.Is(err, store.ErrOldPass) {
				mr.Superseded, err = true, nil
			}
			rep.Mirrors[i] = mr
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rep.Finished = opts.Now()
	return rep, st.FinishPass(ctx, id, rep.Finished)
}

func originReport(l *logdir.Log, url string, exp *expected, opts Options) OriginReport {
	age := opts.Now().Sub(l.Checkpoint.Time)
	return OriginReport{
		URL: url, Records: l.N(), Root: l.Checkpoint.Hash.String(), Signed: l.Checkpoint.Time,
		AgeSeconds: int64(age.Seconds()), Frozen: opts.MaxAge > 0 && age > opts.MaxAge, Objects: len(exp.files),
	}
}

// previousRecords returns, per mirror and access kind, the checkpoint count
// the last pass saw, for rollback detection.
func previousRecords(ctx context.Context, st store.Store) (map[string]map[string]int64, error) {
	latest, err := st.LatestResults(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]int64)
	for _, r := range latest {
		for _, a := range r.Access {
			if a.Records != nil {
				if out[r.Mirror] == nil {
					out[r.Mirror] = make(map[string]int64)
				}
				out[r.Mirror][a.Access] = *a.Records
			}
		}
	}
	return out, nil
}

// objectStates indexes what earlier passes verified, for the hash budget.
func objectStates(ctx context.Context, st store.Store, mirror string) (map[string]map[string]store.ObjectState, error) {
	list, err := st.Objects(ctx, mirror)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]store.ObjectState)
	for _, o := range list {
		if out[o.Access] == nil {
			out[o.Access] = make(map[string]store.ObjectState)
		}
		out[o.Access][o.Path] = o
	}
	return out, nil
}

// OK reports whether the origin is live and every enabled mirror healthy.
func (r *Report) OK() bool {
	if r.Origin.Frozen {
		return false
	}
	for _, m := range r.Mirrors {
		if m.Enabled && !m.OK {
			return false
		}
	}
	return true
}

func sortProblems(ps []Problem) {
	rank := func(k store.ProblemKind) int {
		switch k {
		case store.Hash: // tampering first
			return 0
		case store.Fork, store.Rollback, store.BadSignature:
			return 1
		}
		return 2
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if a, b := rank(ps[i].Kind), rank(ps[j].Kind); a != b {
			return a < b
		}
		if ps[i].Access != ps[j].Access {
			return ps[i].Access < ps[j].Access
		}
		return ps[i].Path < ps[j].Path
	})
}
