package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pando-mirror/pando/internal/probe"
)

// A result is one measured pass.
type result struct {
	name    string
	objects int     // checked, or extrapolated to
	seconds float64 // wall clock, extrapolated for the naive client
	ideal   float64 // seconds, from the formula
	cpu     float64 // seconds of CPU the whole process used; -1 if not measured
	goal    float64 // seconds; 0 if none
	note    string
}

// run measures the three passes and prints the table.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	t := makeTree(cfg.objects)
	load := loadAverage()
	fmt.Fprintf(stderr, "bench/check: %d objects, rtt %v\n", cfg.objects, cfg.rtt)

	m, err := startMirror(ctx, t, cfg.rtt)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "one mirror, pipelined ...")
	one, err := pipelinedPass(ctx, cfg, t, m.url)
	if err != nil {
		m.close()
		return err
	}
	fmt.Fprintf(stderr, "one mirror, naive, %d objects ...\n", cfg.naive)
	naive, err := naivePass(ctx, cfg, t, m.url)
	m.close()
	if err != nil {
		return err
	}
	results := []result{one, naive}
	if cfg.mirrors > 0 {
		fmt.Fprintf(stderr, "%d mirrors in parallel ...\n", cfg.mirrors)
		many, err := manyPass(ctx, cfg, t)
		if err != nil {
			return err
		}
		results = append(results, many)
	}
	printTable(stdout, cfg, load, results)
	return nil
}

// ideal is the least time a pass can take on the link: every round trip
// answers at most conns * pipeline requests.
func ideal(cfg config, objects, conns, pipeline int) float64 {
	trips := (objects + conns*pipeline - 1) / (conns * pipeline)
	return float64(trips) * cfg.rtt.Seconds()
}

// checkAnswers returns a function for Stat that counts answers that do not
// match the tree, and the counter.
func checkAnswers(t *tree) (func(probe.Stat), *atomic.Int64, *atomic.Int64) {
	var bad, seen atomic.Int64
	return func(st probe.Stat) {
		seen.Add(1)
		if st.Err != nil || st.Size != t.sizes[st.Path] {
			bad.Add(1)
		}
	}, &bad, &seen
}

// passOne checks every object of one mirror with a fresh prober.
func passOne(ctx context.Context, cfg config, t *tree, url string) error {
	p, err := probe.New("http", url, probe.Config{Conns: cfg.conns, Pipeline: cfg.pipeline})
	if err != nil {
		return err
	}
	defer p.Close()
	fn, bad, seen := checkAnswers(t)
	if err := p.Stat(ctx, t.paths, fn); err != nil {
		return err
	}
	if bad.Load() > 0 || seen.Load() != int64(len(t.paths)) {
		return fmt.Errorf("%s: %d of %d answers wrong, %d answered", url, bad.Load(), len(t.paths), seen.Load())
	}
	return nil
}

func pipelinedPass(ctx context.Context, cfg config, t *tree, url string) (result, error) {
	cpu0, start := cpuSeconds(), time.Now()
	if err := passOne(ctx, cfg, t, url); err != nil {
		return result{}, fmt.Errorf("one mirror, pipelined: %w", err)
	}
	return result{
		name:    "one mirror, pipelined",
		objects: len(t.paths),
		seconds: time.Since(start).Seconds(),
		ideal:   ideal(cfg, len(t.paths), cfg.conns, cfg.pipeline),
		cpu:     cpuSeconds() - cpu0,
		goal:    60,
	}, nil
}

// naivePass sends one HEAD at a time on one keep-alive connection with
// net/http, for the first cfg.naive objects, and extrapolates.
func naivePass(ctx context.Context, cfg config, t *tree, url string) (result, error) {
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}}
	defer client.CloseIdleConnections()
	start := time.Now()
	for _, p := range t.paths[:cfg.naive] {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, url+p, nil)
		if err != nil {
			return result{}, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return result{}, fmt.Errorf("naive client: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ContentLength != t.sizes[p] {
			return result{}, fmt.Errorf("naive client: %s: %s, %d bytes", p, resp.Status, resp.ContentLength)
		}
	}
	took := time.Since(start).Seconds()
	scale := float64(len(t.paths)) / float64(cfg.naive)
	return result{
		name:    fmt.Sprintf("one mirror, naive (%d timed, x%.0f)", cfg.naive, scale),
		objects: len(t.paths),
		seconds: took * scale,
		ideal:   float64(len(t.paths)) * cfg.rtt.Seconds(),
		cpu:     -1,
		note:    fmt.Sprintf("measured %.2f s for %d objects", took, cfg.naive),
	}, nil
}

// manyPass checks every object of cfg.mirrors mirrors at once.
func manyPass(ctx context.Context, cfg config, t *tree) (result, error) {
	mirrors := make([]*mirror, 0, cfg.mirrors)
	defer func() {
		for _, m := range mirrors {
			m.close()
		}
	}()
	for range cfg.mirrors {
		m, err := startMirror(ctx, t, cfg.rtt)
		if err != nil {
			return result{}, err
		}
		mirrors = append(mirrors, m)
	}
	stop, err := startProfile(cfg.cpuProf)
	if err != nil {
		return result{}, err
	}
	defer stop()
	cpu0, start := cpuSeconds(), time.Now()
	errs := make([]error, len(mirrors))
	var wg sync.WaitGroup
	for i, m := range mirrors {
		wg.Go(func() { errs[i] = passOne(ctx, cfg, t, m.url) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return result{}, fmt.Errorf("%d mirrors: %w", cfg.mirrors, err)
		}
	}
	return result{
		name:    fmt.Sprintf("%d mirrors in parallel", cfg.mirrors),
		objects: len(t.paths) * cfg.mirrors,
		seconds: time.Since(start).Seconds(),
		ideal:   ideal(cfg, len(t.paths), cfg.conns, cfg.pipeline),
		cpu:     cpuSeconds() - cpu0,
		goal:    600,
	}, nil
}

// startProfile starts a CPU profile into file, if there is one, and
// returns the function that ends it.
func startProfile(file string) (func(), error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// cpuSeconds is the user and system CPU time the process used so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
