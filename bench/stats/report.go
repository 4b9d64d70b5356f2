package main

import (
	"cmp"
	"fmt"
	"github.com/pando-mirror/pando/bench/internal/machine"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
)

// goalLinesPerSecond is the speed pando stats ingest must reach on one core.
const goalLinesPerSecond = 1_000_000

// printReport prints both timings, their ratio and the goals.
func printReport(w io.Writer, cfg config, gen generated, ingest, awk timing, pinned bool, loadBefore string) {
	fmt.Fprintf(w, "bench/stats: %d lines (%.0f MB), %d objects, %d days; %d downloads to count; best of %d runs\n",
		gen.lines, float64(gen.bytes)/1e6, cfg.objects, cfg.days, gen.downloads, cfg.runs)
	pin := "not pinned (no taskset)"
	if pinned {
		pin = "pinned to CPU 0 (taskset)"
	}
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s; each command %s with GOMAXPROCS=1; load average before %s, after %s\n\n",
		runtime.NumCPU(), cpuModel(), runtime.Version(), pin, loadBefore, loadAverage())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "command\tseconds\tCPU s\tlines/s\tMB/s\t")
	for _, r := range []struct {
		name string
		t    timing
	}{
		{"pando stats ingest --dry-run", ingest},
		{"awk '{c[$7]++} ...' (" + awkName() + ")", awk},
	} {
		s := r.t.wall.Seconds()
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.0f\t%.0f\t\n", r.name, s, r.t.cpu.Seconds(), float64(gen.lines)/s, float64(gen.bytes)/1e6/s)
	}
	tw.Flush()
	rate := float64(gen.lines) / ingest.wall.Seconds()
	fmt.Fprintf(w, "\nawk / pando stats ingest: %.2fx\n", awk.wall.Seconds()/ingest.wall.Seconds())
	fmt.Fprintf(w, "goal: at least %d lines/s on one core: %s; faster than awk: %s\n",
		goalLinesPerSecond, yes(rate >= goalLinesPerSecond), yes(ingest.wall < awk.wall))
	fmt.Fprintln(w, "pando checks every line (format, time, status, method, path rules) and aggregates per day and path; awk only splits on blanks.")
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

// awkName is what /usr/bin/awk is (mawk, gawk, busybox), if it says.
func awkName() string {
	out, err := execOutput("awk", "-W", "version")
	if err != nil || out == "" {
		if out, err = execOutput("awk", "--version"); err != nil || out == "" {
			return "awk"
		}
	}
	first, _, _ := strings.Cut(out, "\n")
	return strings.TrimSpace(first)
}

// cpuModel is the processor's name, if /proc says.
func cpuModel() string { return cmp.Or(machine.CPUModel(), "unknown CPU") }

// loadAverage is the 1, 5 and 15 minute load averages, if /proc says.
func loadAverage() string { return cmp.Or(machine.LoadAverage(), "unknown") }
