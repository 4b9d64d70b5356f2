package main

import (
	"fmt"
	"os/exec"
	"runtime"
)

// A pinning says which CPUs wrk and the servers under test run on. Apart,
// neither takes CPU time from the other, so a server's throughput and tail
// latency are its own rather than the scheduler's; every server gets the
// same CPUs.
type pinning struct {
	load, servers string // taskset CPU lists; "" runs unpinned
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
	return pinning{load: cpuRange(0, n/2-1), servers: cpuRange(n/2, n-1)}, nil
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
	return fmt.Sprintf("wrk pinned to CPU %s, each server to CPU %s (taskset)", p.load, p.servers)
}
