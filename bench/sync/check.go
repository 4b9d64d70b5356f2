package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// checkMirrors makes sure both mirrors hold what the origin holds, so that a
// sync that did less than its job cannot look fast: pando verify must pass
// on the pando mirror at the origin's record count, and both mirrors must
// list exactly the origin's paths and sizes (outside .pando).
func (b *bench) checkMirrors(ctx context.Context) (string, error) {
	var errs []error
	verified, err := b.verifyPando(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	want, err := pathSizes(b.w.origin)
	if err != nil {
		return verified, err
	}
	counts := []string{fmt.Sprintf("origin %d", len(want))}
	for _, m := range []struct{ name, root string }{{"pando", b.w.pandoM}, {"rsync", b.w.rsyncM}} {
		got, err := pathSizes(m.root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		counts = append(counts, fmt.Sprintf("%s %d", m.name, len(got)))
		if d := diffTrees(want, got); d != "" {
			errs = append(errs, fmt.Errorf("%s mirror differs from the origin: %s", m.name, d))
		}
	}
	check := verified + "; files: " + strings.Join(counts, ", ")
	return check, errors.Join(errs...)
}

// verifyPando runs pando verify on the pando mirror and checks that it is
// at the origin's last published record count.
func (b *bench) verifyPando(ctx context.Context) (string, error) {
	r, err := runCmd(ctx, b.cfg.stepTimeout, "", b.pando, "verify", "--root", b.w.pandoM,
		"--pubkey", b.w.key+".pub", "--quiet", "--json")
	var rep struct {
		Records  int64             `json:"records"`
		Files    int               `json:"files"`
		Problems []json.RawMessage `json:"problems"`
	}
	if jerr := json.Unmarshal([]byte(r.stdout), &rep); jerr != nil {
		return "verify failed", fmt.Errorf("pando verify of the pando mirror: %w", errors.Join(err, jerr))
	}
	if err != nil || len(rep.Problems) > 0 {
		return "verify failed", fmt.Errorf("pando verify of the pando mirror: %d problems, first: %s (%v)",
			len(rep.Problems), firstProblem(rep.Problems), err)
	}
	if rep.Records != b.records {
		return "verify stale", fmt.Errorf("pando mirror holds %d records, the origin published %d", rep.Records, b.records)
	}
	return fmt.Sprintf("verify ok (%d records)", rep.Records), nil
}

func firstProblem(ps []json.RawMessage) string {
	if len(ps) == 0 {
		return "none"
	}
	return string(ps[0])
}

// diffTrees describes how got differs from want, naming a few paths of each
// kind; "" when they are the same.
func diffTrees(want, got map[string]int64) string {
	var missing, extra, size []string
	for p, n := range want {
		m, ok := got[p]
		switch {
		case !ok:
			missing = append(missing, p)
		case m != n:
			size = append(size, fmt.Sprintf("%s (%d bytes, want %d)", p, m, n))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			extra = append(extra, p)
		}
	}
	var parts []string
	for _, k := range []struct {
		what  string
		paths []string
	}{{"missing", missing}, {"extra", extra}, {"wrong size", size}} {
		if len(k.paths) > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", len(k.paths), k.what, examples(k.paths, 3)))
		}
	}
	return strings.Join(parts, "; ")
}

func examples(paths []string, n int) string {
	sort.Strings(paths)
	if len(paths) > n {
		return strings.Join(paths[:n], ", ") + ", ..."
	}
	return strings.Join(paths, ", ")
}
