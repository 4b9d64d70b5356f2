package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// The servers under load, in the order each round loads them.
const (
	srvMinimal     = iota // a fixed 302 with only a Location, on net/http
	srvMinimalFast        // the same on the edge's server (fasthttp)
	srvFixedFull          // a fixed 302 with pando's headers, on the edge's server
	srvPando              // the edge
	nServers
)

func serverName(i int) string {
	return [...]string{"minimal", "minimal-fast", "fixed-full", "pando"}[i]
}

// A loadSet is every round of every server at one connection count.
type loadSet struct {
	conns  int
	rounds [nServers][]load
}

// median returns the run with the median throughput of server i, and the
// lowest and highest throughput of its rounds.
func (s *loadSet) median(i int) (load, float64, float64) {
	runs := slices.Clone(s.rounds[i])
	slices.SortFunc(runs, func(a, b load) int {
		switch {
		case a.rps < b.rps:
			return -1
		case a.rps > b.rps:
			return 1
		}
		return 0
	})
	return runs[len(runs)/2], runs[0].rps, runs[len(runs)-1].rps
}

// loadAll starts the reference handlers and, at each connection count,
// loads the three servers in turn, round after round, so that whatever
// else the machine does falls on all of them alike.
func loadAll(ctx context.Context, cfg config, dir string, edge *proc, paths, ips []string, f *figures, logf func(string, ...any)) error {
	script, err := writeScript(dir, paths, ips)
	if err != nil {
		return err
	}
	var procs [nServers]*proc
	procs[srvPando] = edge
	for _, i := range []int{srvMinimal, srvMinimalFast, srvFixedFull} {
		if procs[i], err = startReference(ctx, f.pinning, serverName(i), paths[0]); err != nil {
			return err
		}
		defer procs[i].stop()
	}
	for _, p := range procs { // started on any CPU, so that startup is timed as without pinning
		if err := p.pin(f.pinning.servers); err != nil {
			return err
		}
	}
	for _, p := range procs { // warm up
		if _, err := runWrk(ctx, f.pinning.load, p.addr, script, cfg.threads, 16, time.Second); err != nil {
			return err
		}
	}
	for _, c := range cfg.conns {
		set := loadSet{conns: c}
		logf("wrk: %d connections, %d rounds of %v per server", c, cfg.rounds, cfg.duration)
		for r := 0; r < cfg.rounds; r++ {
			for i, p := range procs {
				l, err := measure(ctx, p, f.pinning.load, script, cfg.threads, c, cfg.duration)
				if err != nil {
					return fmt.Errorf("wrk on %s at %d connections: %w", serverName(i), c, err)
				}
				set.rounds[i] = append(set.rounds[i], l)
			}
		}
		f.loads = append(f.loads, set)
	}
	return nil
}

// measure loads p with wrk and adds the server's CPU time per request.
func measure(ctx context.Context, p *proc, cpus, script string, threads, conns int, d time.Duration) (load, error) {
	before, err := p.cpuTime()
	if err != nil {
		return load{}, err
	}
	l, err := runWrk(ctx, cpus, p.addr, script, threads, conns, d)
	if err != nil {
		return l, err
	}
	if l.errors != "" {
		return l, errors.New(l.errors)
	}
	after, err := p.cpuTime()
	if err != nil || l.requests == 0 {
		return l, err
	}
	l.cpu = (after - before) / time.Duration(l.requests)
	return l, nil
}

// startReference starts this program as a reference server.
func startReference(ctx context.Context, pin pinning, mode, path string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProc(pin.serverEnv(), addr, self, "-minimal-server", mode+"@"+addr)
	if err != nil {
		return nil, err
	}
	if _, err := p.waitRedirect(ctx, time.Now(), path); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}
