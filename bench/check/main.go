// Command check is the checker's benchmark: how fast the http prober
// (internal/probe) learns whether every object of a mirror exists with the
// right size, against a naive client measured in the same run.
//
// It serves a synthetic tree (-objects paths, default 75,000; only
// metadata: each simulated mirror answers HEAD with the Content-Length of
// a path without any file on disk) from simulated mirrors, HTTP/1.1-only
// net/http servers on loopback, each reached through a TCP proxy in this
// program that delays every chunk by rtt/2 in each direction, in order. It
// prints:
//
//   - one mirror, pipelined: a full existence-and-size pass with the
//     prober (at most -conns connections, -pipeline requests ahead on
//     each), its checks per second, and the ideal for that round-trip time
//     and connection count, ceil(objects / (conns * pipeline)) * rtt;
//   - one mirror, naive: one HEAD at a time on one keep-alive connection
//     with net/http, timed on -naive objects and extrapolated to the tree;
//   - many mirrors: -mirrors mirrors (default 60) checked in one pass, all
//     in parallel, each with its own prober and proxy.
//
// Every answer is checked against the tree: a missing or wrong size makes
// the run exit with status 1, so a broken prober cannot look fast. Goals
// (one 50 ms mirror in under 60 s with at most 8 connections; 60 mirrors
// of 75,000 objects in under 10 minutes on 2 cores) are printed beside the
// results. Servers, proxies and the probers all run in this one process, so
// the CPU figures include the simulated mirrors' work too.
//
// Run it from the repository root:
//
//	go run ./bench/check                          # full scale
//	go run ./bench/check -objects 10000 -mirrors 4 # a quick look
//	go run ./bench/check -rtt 150ms -mirrors 0    # one far mirror only
//
// Results are recorded in docs/BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/pando-mirror/pando/bench/internal/benchmain"
	"io"
	"time"
)

// config is the benchmark's whole configuration, from flags.
type config struct {
	objects  int
	rtt      time.Duration
	conns    int
	pipeline int
	naive    int
	mirrors  int
	timeout  time.Duration
	cpuProf  string
}

const usage = `Usage: go run ./bench/check [flags]

Benchmarks the checker's existence-and-size pass over HTTP/1.1 (HEAD with
keep-alive and pipelining) against a naive one-request-at-a-time client, on
simulated mirrors on loopback behind an injected round-trip time. Exit
status 0 when every answer was right (goals missed are reported, not
failures), 1 otherwise, 2 for bad flags.

Flags:
`

func main() { benchmain.Main("bench/check", parseFlags, run) }

func mainCode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return benchmain.Code(ctx, "bench/check", args, stdout, stderr, parseFlags, run)
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench/check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.IntVar(&c.objects, "objects", 75000, "objects in the synthetic tree")
	fs.DurationVar(&c.rtt, "rtt", 50*time.Millisecond, "round-trip time injected between the probers and every mirror")
	fs.IntVar(&c.conns, "conns", 8, "connections per mirror")
	fs.IntVar(&c.pipeline, "pipeline", 16, "HTTP/1.1 requests in flight per connection")
	fs.IntVar(&c.naive, "naive", 500, "objects the naive client checks (its time is extrapolated to -objects)")
	fs.IntVar(&c.mirrors, "mirrors", 60, "mirrors in the many-mirrors pass (0: skip it)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "limit for the whole run")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write a CPU profile of the many-mirrors pass to `FILE`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, benchmain.ErrReported // the flag package printed it with the usage
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags only; see -help)", fs.Arg(0))
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.objects < 1 || c.objects > 10_000_000:
		return fmt.Errorf("-objects %d: want 1 to 10000000", c.objects)
	case c.rtt < 0 || c.rtt > 10*time.Second:
		return fmt.Errorf("-rtt %v: want 0 to 10s", c.rtt)
	case c.conns < 1 || c.conns > 64:
		return fmt.Errorf("-conns %d: want 1 to 64", c.conns)
	case c.pipeline < 1 || c.pipeline > 1024:
		return fmt.Errorf("-pipeline %d: want 1 to 1024", c.pipeline)
	case c.naive < 1 || c.naive > c.objects:
		return fmt.Errorf("-naive %d: want 1 to -objects", c.naive)
	case c.mirrors < 0 || c.mirrors > 1000:
		return fmt.Errorf("-mirrors %d: want 0 to 1000", c.mirrors)
	case c.timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	return nil
}
