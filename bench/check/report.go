package main

import (
	"cmp"
	"fmt"
	"github.com/pando-mirror/pando/bench/internal/machine"
	"io"
	"runtime"
	"text/tabwriter"
)

// printTable prints the results, the formula for the ideal, and the ratio
// of the naive client's time to the prober's.
func printTable(w io.Writer, cfg config, loadBefore string, results []result) {
	fmt.Fprintf(w, "bench/check: %d objects per mirror, rtt %v, at most %d connections, pipeline %d\n",
		cfg.objects, cfg.rtt, cfg.conns, cfg.pipeline)
	fmt.Fprintf(w, "machine: %d CPUs (%s), GOMAXPROCS %d, %s; load average before %s, after %s\n",
		runtime.NumCPU(), cpuModel(), runtime.GOMAXPROCS(0), runtime.Version(), loadBefore, loadAverage())
	fmt.Fprintf(w, "ideal = ceil(objects / (conns * pipeline)) * rtt = ceil(%d / %d) * %v = %.2f s (naive: objects * rtt)\n\n",
		cfg.objects, cfg.conns*cfg.pipeline, cfg.rtt, ideal(cfg, cfg.objects, cfg.conns, cfg.pipeline))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "step\tobjects\tseconds\tchecks/s\tideal s\tCPU s\tgoal\tmet\t")
	for _, r := range results {
		cpu, goal, met := "-", "-", "-"
		if r.cpu >= 0 {
			cpu = fmt.Sprintf("%.1f", r.cpu)
		}
		if r.goal > 0 {
			goal = fmt.Sprintf("< %.0f s", r.goal)
			met = map[bool]string{true: "yes", false: "NO"}[r.seconds < r.goal]
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.2f\t%s\t%s\t%s\t\n",
			r.name, r.objects, r.seconds, float64(r.objects)/r.seconds, r.ideal, cpu, goal, met)
	}
	tw.Flush()
	if len(results) >= 2 {
		fmt.Fprintf(w, "\nnaive / pipelined: %.0fx (%s)\n", results[1].seconds/results[0].seconds, results[1].note)
	}
	fmt.Fprintln(w, "CPU s is the whole process: probers, proxies and simulated mirrors alike.")
}

// cpuModel is the processor's name, if /proc says.
func cpuModel() string { return cmp.Or(machine.CPUModel(), "unknown CPU") }

// loadAverage is the 1, 5 and 15 minute load averages, if /proc says.
func loadAverage() string { return cmp.Or(machine.LoadAverage(), "unknown") }
