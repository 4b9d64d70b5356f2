// Command stats is the benchmark of download statistics: how fast
// "pando stats ingest" reads a web server's access log, against awk
// counting requests per path over the same file in the same run.
//
// It writes a synthetic combined-format log (-lines lines, default
// 5,000,000, over -objects objects with a Zipf-like popularity, spread over
// -days days; with HEADs, 404s, 304s, ranges, .pando/ fetches, directory
// listings, query strings, percent-escapes and garbage lines mixed in, as a
// real mirror's log has them), builds pando, and times on one core (taskset
// to CPU 0 when taskset exists, GOMAXPROCS=1):
//
//   - pando stats ingest --dry-run over the whole file, its output summed
//     and checked against the downloads the generator wrote, so a parser
//     that skips work cannot look fast;
//   - awk '{c[$7]++} END{for(p in c) print p, c[p]}' over the same file:
//     a count per request path with no checks at all.
//
// Each is run -runs times (alternating, the file in the page cache) and
// the best time kept. It prints lines per second for both and their ratio,
// beside the goals: at least 1,000,000 lines/s, and faster than awk.
//
// Run it from the repository root:
//
//	go run ./bench/stats                   # full scale
//	go run ./bench/stats -lines 500000     # a quick look
//
// Results are recorded in docs/BENCHMARKS.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/pando-mirror/pando/bench/internal/benchmain"
	"io"
)

// config is the benchmark's whole configuration, from flags.
type config struct {
	lines   int
	objects int
	days    int
	runs    int
	dir     string
	keep    bool
	seed    uint64
}

const usage = `Usage: go run ./bench/stats [flags]

Benchmarks "pando stats ingest" over a synthetic combined-format access log
against awk counting requests per path over the same file, both on one core.
Exit status 0 when ingest counted exactly the downloads written (goals
missed are reported, not failures), 1 otherwise, 2 for bad flags.

Flags:
`

func main() { benchmain.Main("bench/stats", parseFlags, run) }

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench/stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.IntVar(&c.lines, "lines", 5_000_000, "lines in the generated log")
	fs.IntVar(&c.objects, "objects", 20_000, "distinct objects downloaded")
	fs.IntVar(&c.days, "days", 7, "days the log covers (ending yesterday)")
	fs.IntVar(&c.runs, "runs", 3, "times each command is timed; the best counts")
	fs.StringVar(&c.dir, "dir", "", "work directory for the log and the binary (default: a temporary one, removed)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generated log")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, benchmain.ErrReported
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags only; see -help)", fs.Arg(0))
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.lines < 1 || c.lines > 100_000_000:
		return fmt.Errorf("-lines %d: want 1 to 100000000", c.lines)
	case c.objects < 1 || c.objects > 10_000_000:
		return fmt.Errorf("-objects %d: want 1 to 10000000", c.objects)
	case c.days < 1 || c.days > 365:
		return fmt.Errorf("-days %d: want 1 to 365", c.days)
	case c.runs < 1 || c.runs > 20:
		return fmt.Errorf("-runs %d: want 1 to 20", c.runs)
	}
	return nil
}
