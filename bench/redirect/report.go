package main

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// Goals, from the redirector's issue.
const (
	goalCompile    = 200 * time.Millisecond
	goalStart      = 100 * time.Millisecond
	goalRSS        = 150 << 20
	goalRatio      = 0.80
	goalP99        = 2 * time.Millisecond
	goalP99AtConns = 64
)

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func us(d time.Duration) string { return fmt.Sprintf("%.1f us", float64(d)/float64(time.Microsecond)) }

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

func report(w io.Writer, cfg config, f figures) {
	fmt.Fprintf(w, "pando redirect benchmark: %d objects x %d mirrors (%d access points), %d CPUs, %s\n\n",
		f.objects, f.mirrors, f.slots, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "%-34s %14s   %-14s %s\n", "figure", "value", "goal", "")
	line := func(name, value, goal, status string) {
		fmt.Fprintf(w, "%-34s %14s   %-14s %s\n", name, value, goal, status)
	}
	line("map compile (best of 3)", ms(f.compile), "< 200 ms", met(f.compile < goalCompile))
	line("signed map size", mb(int64(f.mapBytes)), "", "")
	line("map verify + decode (in process)", ms(f.decode), "", "")
	line("edge start to first redirect", ms(f.startToRedirect), "< 100 ms", met(f.startToRedirect < goalStart))
	line("edge startup, as it logs it", f.loggedStartup, "", "")
	line("edge RSS when ready", mb(f.rssReady), "< 150 MB", met(f.rssReady < goalRSS))
	line("edge RSS after load (peak)", fmt.Sprintf("%s (%s)", mb(f.rssAfter), mb(f.hwm)), "< 150 MB", met(f.hwm < goalRSS))
	if len(f.loads) == 0 {
		return
	}
	fmt.Fprintf(w, "\nload (wrk -t%d, median of %d runs of %v per server; req/s range in brackets;\n%s):\n",
		cfg.threads, cfg.rounds, cfg.duration, f.pinning)
	fmt.Fprintf(w, "%6s  %-12s %8s %17s %9s %9s %9s   %s\n", "conns", "server", "req/s", "(min-max)", "p50", "p99", "cpu/req", "")
	for _, set := range f.loads {
		minimal, _, _ := set.median(srvMinimal)
		fast, _, _ := set.median(srvMinimalFast)
		for i := 0; i < nServers; i++ {
			l, lo, hi := set.median(i)
			note := ""
			if i != srvMinimal {
				note = fmt.Sprintf("%.2f of minimal", l.rps/minimal.rps)
			}
			if i == srvFixedFull || i == srvPando {
				note += fmt.Sprintf(", %.2f of minimal-fast", l.rps/fast.rps)
			}
			if i == srvPando {
				note += fmt.Sprintf(" (goal >= %.2f of minimal: %s)", goalRatio, met(l.rps/minimal.rps >= goalRatio))
				if set.conns == goalP99AtConns {
					note += fmt.Sprintf("; p99 goal < 2 ms: %s", met(l.p99 < goalP99))
				}
			}
			fmt.Fprintf(w, "%6d  %-12s %8.0f %17s %9s %9s %9s   %s\n", set.conns, serverName(i), l.rps,
				fmt.Sprintf("(%.0f-%.0f)", lo, hi), ms(l.p50), ms(l.p99), us(l.cpu), note)
		}
	}
}
