// Command redirect is the redirector benchmark: a signed availability map
// of 75,000 objects over 60 mirrors, served by the real "pando redirect"
// edge with a generated GeoIP database, loaded by wrk beside a minimal Go
// handler that answers every request with the same 302, in one run.
// The checker's object states are generated as a store returns them: the
// states of one object at every mirror share their path and hash strings.
//
// What it prints, each figure beside its goal:
//
//   - map compile: availability.Compile over the origin's log, the registry
//     and every mirror's object states (goal < 200 ms);
//   - map size and decode time of the signed map;
//   - edge start to first redirect: from starting the pando process to the
//     first 302 it answers (goal < 100 ms), and the startup time the edge
//     logs itself;
//   - edge resident memory (VmRSS from /proc/PID/status) when ready and
//     after the load (goal < 150 MB);
//   - at 16 and 64 connections: requests/s, p50 and p99 latency of the edge
//     and of three reference handlers: "minimal", a fixed 302 with only a
//     Location behind net/http's server (internal/serve), the goal's
//     reference; "minimal-fast", the same behind the edge's own server
//     (internal/edge, fasthttp); and "fixed-full", a fixed 302 with the
//     headers a pando redirect has (five Link alternatives, the digests)
//     behind the edge's server, which tells the cost of choosing a mirror
//     from the cost of a larger answer; and the ratios (goals: >= 80% of
//     the minimal handler's throughput, p99 < 2 ms at 64 connections; the
//     ratio to minimal-fast is pando's own cost on its server), with each
//     server's CPU
//     time per request (user and system, from /proc/PID/stat). Each server
//     is loaded in turn, round after round, and the median round is
//     reported with the spread, so that other load on the machine falls on
//     all alike. With two CPUs or more, wrk runs on the first half of them
//     with one thread per CPU, and every server, once started, on the rest
//     (taskset; -pin=false shares them), so that neither takes CPU time
//     from the other; the servers start with GOMAXPROCS set to the CPUs
//     they will have.
//
// wrk's Lua script varies the path over a sample of the objects and sends
// X-Forwarded-For from networks in the generated database; the edge trusts
// 127.0.0.1 as its proxy. Before the load, a sample of redirects is checked
// against the map (every Location must be a mirror verified to hold the
// object), and wrk must report no errors, so a broken redirector cannot
// look fast: a failed check makes the run exit with status 1.
//
// Run it from the repository root (it builds cmd/pando; it needs wrk):
//
//	go run ./bench/redirect
//	go run ./bench/redirect -objects 10000 -duration 3s   # a quick look
//
// Results are recorded in docs/BENCHMARKS.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pando-mirror/pando/bench/internal/benchmain"
)

// config is the benchmark's whole configuration, from flags.
type config struct {
	objects  int
	mirrors  int
	places   int // client places in the GeoIP database; 0: one per country
	seed     uint64
	duration time.Duration
	rounds   int
	threads  int
	conns    []int
	pando    string
	keep     string // work in this directory and keep it
	load     bool   // run the wrk load
	pin      bool   // run wrk and the servers on separate CPUs
	minimal  string // internal: serve the minimal handler on this address
}

const usage = `Usage: go run ./bench/redirect [flags]

Benchmarks the edge redirector ("pando redirect") over a generated signed
availability map against a minimal Go handler answering a fixed 302, with
wrk. Exit status 0 when every correctness check passed (goals missed are
reported, not failures), 1 otherwise, 2 for bad flags.

Flags:
`

func main() { benchmain.Main("bench/redirect", parseFlags, run) }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{conns: []int{16, 64}}
	fs := flag.NewFlagSet("bench/redirect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.IntVar(&c.objects, "objects", 75000, "objects in the map")
	fs.IntVar(&c.mirrors, "mirrors", 60, "mirrors in the registry")
	fs.IntVar(&c.places, "places", 0, "client places (networks at distinct coordinates) in the GeoIP database; 0: one per mirror country")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generator (same seed, same map)")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "length of each wrk run")
	fs.IntVar(&c.rounds, "rounds", 3, "wrk runs per server and connection count (the median is reported)")
	fs.IntVar(&c.threads, "threads", 0, "wrk threads; 0: one per CPU wrk is pinned to (half the CPUs with -pin=false)")
	fs.StringVar(&c.pando, "pando", "", "use this pando binary instead of building ./cmd/pando")
	fs.BoolVar(&c.load, "load", true, "run the wrk load (-load=false: only map and startup figures)")
	fs.BoolVar(&c.pin, "pin", true, "with 2 or more CPUs, pin wrk to CPU 0 and every server to the others (taskset)")
	fs.StringVar(&c.keep, "keep", "", "write the map, keys, database and wrk script to `DIR` and keep them")
	fs.StringVar(&c.minimal, "minimal-server", "", "(internal) serve a reference handler: `MODE@ADDR`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, benchmain.ErrReported
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q (flags only; see -help)", fs.Arg(0))
	case c.objects < 100 || c.objects > 2_000_000:
		return c, fmt.Errorf("-objects %d: want 100 to 2000000", c.objects)
	case c.mirrors < 2 || c.mirrors > 1000:
		return c, fmt.Errorf("-mirrors %d: want 2 to 1000", c.mirrors)
	case c.places < 0 || c.places > 65536:
		return c, fmt.Errorf("-places %d: want 0 to 65536", c.places)
	case c.duration < time.Second || c.duration > time.Hour:
		return c, fmt.Errorf("-duration %v: want 1s to 1h", c.duration)
	case c.rounds < 1 || c.rounds > 99:
		return c, fmt.Errorf("-rounds %d: want 1 to 99", c.rounds)
	case c.threads < 0 || c.threads > 64:
		return c, fmt.Errorf("-threads %d: want 0 to 64", c.threads)
	}
	return c, nil
}
