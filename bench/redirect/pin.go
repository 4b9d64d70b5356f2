package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
)

// A pinning says which CPUs wrk and the servers under test run on. Apart,
// neither takes CPU time from the other, so a server's throughput and tail
// latency are its own rather than the scheduler's; every server gets the
// same CPUs.
type pinning struct {
	load, servers string // taskset CPU lists; "" runs unpinned
	loadCPUs      int    // how many CPUs load names
	serverCPUs    int    // how many CPUs servers names
}

// newPinning gives wrk the first half of the CPUs and the servers the rest
// (on two CPUs: wrk CPU 0, servers CPU 1), or pins nothing with -pin=false
// or a single CPU. It takes the CPUs to be numbered from 0, as they are
// for a process that may run on all of them.
func newPinning(cfg config) (pinning, error) {
	n := runtime.NumCPU()
	if !cfg.pin || n < 2 {
		return pinning{}, nil
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return pinning{}, fmt.Errorf("taskset is not on PATH (util-linux), or run with -pin=false: %w", err)
	}
	return pinning{load: cpuRange(0, n/2-1), servers: cpuRange(n/2, n-1), loadCPUs: n / 2, serverCPUs: n - n/2}, nil
}

// serverEnv returns the environment a server under test starts with. A
// pinned one is told how many CPUs it will have: Go sizes GOMAXPROCS by
// the CPUs a process may use when it starts and follows a later taskset
// only when its runtime next looks, about once a second while busy; more
// Ps than CPUs time-slice each other, which costs CPU and puts scheduler
// ticks into the tail latency.
func (p pinning) serverEnv() []string {
	if p.servers == "" {
		return nil
	}
	return append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", p.serverCPUs))
}

// wrkThreads returns the wrk threads to run: as many as asked, or with 0
// one per CPU wrk is pinned to (half the CPUs, unpinned).
func (p pinning) wrkThreads(asked int) int {
	switch {
	case asked > 0:
		return asked
	case p.loadCPUs > 0:
		return p.loadCPUs
	}
	return max(runtime.NumCPU()/2, 1)
}

func cpuRange(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// pinned returns the program and arguments that run name with args on
// cpus ("" for any CPU).
func pinned(cpus, name string, args []string) (string, []string) {
	if cpus == "" {
		return name, args
	}
	return "taskset", append([]string{"-c", cpus, name}, args...)
}

// String describes the pinning for the report.
func (p pinning) String() string {
	if p.servers == "" {
		return "not pinned: wrk and the servers share the CPUs"
	}
	return fmt.Sprintf("wrk pinned to CPU %s, each server to CPU %s (taskset, GOMAXPROCS=%d)", p.load, p.servers, p.serverCPUs)
}
