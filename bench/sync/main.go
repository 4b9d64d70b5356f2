// Command sync is the mirror-sync benchmark: pando against rsync, measured
// in one run on one generated tree, with the real binaries.
//
// What it measures (each line printed with pando's wall-clock seconds,
// rsync's, the ratio rsync/pando, the goal and whether it was met):
//
//   - publish initial: "pando publish" of a freshly generated origin tree
//     (N files, log-normal sizes from a few hundred bytes to a few MB);
//   - publish no change: the same again with nothing changed (goal < 1 s);
//   - sync initial: "pando mirror sync" from "pando serve" into an empty
//     mirror, against "rsync -a --delete" from "rsync --daemon" into another
//     (with -fsync-ref, also against "rsync -a --delete --fsync", since pando
//     makes every file durable before its checkpoint and plain rsync does not);
//   - sync no change: both again, nothing changed (goal pando >= 20x faster);
//   - publish 1% change: publish after 1% of the files were rewritten (same
//     and different sizes), added or removed;
//   - sync 1% change: both re-sync that change (goal pando >= 3x faster).
//
// Every server listens on 127.0.0.1 only. With -rtt, both pando and rsync
// reach their server through a TCP proxy in this program that delays every
// chunk by rtt/2 in each direction, so many-small-files latency shows up.
// After every sync the pando mirror must pass "pando verify" and both
// mirrors must hold exactly the origin's paths and sizes, so a broken sync
// cannot look fast; a failed check makes the run exit with status 1.
//
// Run it from the repository root:
//
//	go run ./bench/sync                         # 75,000 files, about 1.4 GiB
//	go run ./bench/sync -files 5000             # a quick look
//	go run ./bench/sync -scale 2.5              # about 3.5 GiB: "a few GB"
//	go run ./bench/sync -files 10000 -rtt 20ms  # a long link
//
// It needs Go and rsync on PATH; it builds cmd/pando into its work area.
// -keep DIR keeps the generated tree between runs; -json prints the results
// as JSON on stdout (the table then goes to stderr). Results are recorded in
// docs/BENCHMARKS.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/pando-mirror/pando/bench/internal/benchmain"
	"io"
	"time"
)

// config is the benchmark's whole configuration, from flags.
type config struct {
	files       int
	scale       float64
	seed        uint64
	change      float64
	rtt         time.Duration
	jobs        int
	keep        string
	pando       string
	asJSON      bool
	fsyncRef    bool
	stepTimeout time.Duration
	timeout     time.Duration
}

const usage = `Usage: go run ./bench/sync [flags]

Benchmarks pando publish and pando mirror sync against rsync -a --delete from
an rsync daemon, on one generated tree, over loopback (optionally behind an
injected round-trip time). Prints one line per step: pando seconds, rsync
seconds, ratio rsync/pando, goal, met. Exit status 0 when every correctness
check passed (goals missed are reported, not failures), 1 otherwise, 2 for
bad flags.

Flags:
`

func main() { benchmain.Main("bench/sync", parseFlags, run) }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench/sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.IntVar(&c.files, "files", 75000, "number of files in the generated tree")
	fs.Float64Var(&c.scale, "scale", 1, "multiply every file size by this (1: about 19 KiB a file on average, 1.4 GiB at 75,000 files; 2.5: about 3.5 GiB)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the tree generator (same seed, same tree)")
	fs.Float64Var(&c.change, "change", 0.01, "fraction of files changed before the last publish and re-sync")
	fs.DurationVar(&c.rtt, "rtt", 0, "round-trip time injected between both clients and their servers (0: direct loopback)")
	fs.IntVar(&c.jobs, "jobs", 0, "pass --jobs to pando mirror sync (0: pando's default)")
	fs.StringVar(&c.keep, "keep", "", "keep the generated tree in `DIR` and reuse it when files, scale and seed match")
	fs.StringVar(&c.pando, "pando", "", "use this pando binary instead of building ./cmd/pando")
	fs.BoolVar(&c.fsyncRef, "fsync-ref", false, "also time an initial rsync --fsync (durable like pando, which makes every file durable before its checkpoint) as a second reference")
	fs.BoolVar(&c.asJSON, "json", false, "print the results as JSON on stdout (the table goes to stderr)")
	fs.DurationVar(&c.stepTimeout, "step-timeout", 30*time.Minute, "limit for each command the benchmark runs")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Hour, "limit for the whole run")
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
	case c.files < 10 || c.files > 5_000_000:
		return fmt.Errorf("-files %d: want 10 to 5000000", c.files)
	case !(c.scale > 0 && c.scale <= 100):
		return fmt.Errorf("-scale %g: want more than 0, at most 100", c.scale)
	case !(c.change > 0 && c.change <= 0.5):
		return fmt.Errorf("-change %g: want more than 0, at most 0.5", c.change)
	case c.rtt < 0 || c.rtt > 10*time.Second:
		return fmt.Errorf("-rtt %v: want 0 to 10s", c.rtt)
	case c.jobs < 0 || c.jobs > 1024:
		return fmt.Errorf("-jobs %d: want 0 to 1024", c.jobs)
	case c.stepTimeout <= 0 || c.timeout <= 0:
		return errors.New("-step-timeout and -timeout must be positive")
	}
	return nil
}
