package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	hostinfo "github.com/pando-mirror/pando/bench/internal/machine"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// A goal is a step's target, if it has one.
type goal struct {
	text string
	met  func(s step) bool
}

var (
	noGoal         = goal{}
	underOneSecond = goal{"< 1 s", func(s step) bool { return s.Pando < 1 }}
)

// atLeast is the goal of pando being x times faster than rsync.
func atLeast(x float64) goal {
	return goal{fmt.Sprintf(">= %gx", x), func(s step) bool { return s.Ratio != nil && *s.Ratio >= x }}
}

// A step is one line of the result table.
type step struct {
	Name         string          `json:"step"`
	Pando        float64         `json:"pando_seconds"`
	Rsync        *float64        `json:"rsync_seconds,omitempty"`
	Ratio        *float64        `json:"ratio,omitempty"` // rsync/pando
	Goal         string          `json:"goal,omitempty"`
	Met          *bool           `json:"met,omitempty"`
	Check        string          `json:"check"`
	Failed       string          `json:"failed,omitempty"`
	PandoSummary json.RawMessage `json:"pando_summary,omitempty"`
}

func (s *step) setRsync(sec float64) {
	s.Rsync = &sec
	if s.Pando > 0 {
		r := sec / s.Pando
		s.Ratio = &r
	}
}

// The report is the whole result of a run.
type report struct {
	Machine machine `json:"machine"`
	Files   int     `json:"files"`
	Bytes   int64   `json:"bytes"`
	Scale   float64 `json:"scale"`
	Seed    uint64  `json:"seed"`
	RTT     string  `json:"rtt"`
	Jobs    int     `json:"pando_jobs,omitempty"`
	Change  change  `json:"change"`
	Steps   []step  `json:"steps"`
}

type machine struct {
	CPUs     int    `json:"cpus"`
	CPU      string `json:"cpu"`
	MemBytes int64  `json:"mem_bytes"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Rsync    string `json:"rsync"`
	// Load averages (1, 5, 15 min) before and after the run: the machine
	// may be shared, and other work there slows both sides.
	LoadBefore string `json:"load_before"`
	LoadAfter  string `json:"load_after,omitempty"`
}

func newReport(cfg config) *report {
	return &report{Files: cfg.files, Scale: cfg.scale, Seed: cfg.seed, RTT: cfg.rtt.String(), Jobs: cfg.jobs}
}

// add records a finished step, judging its goal; a step that failed a check
// never meets its goal.
func (r *report) add(s step, g goal) {
	if g.text != "" {
		s.Goal = g.text
		met := s.Failed == "" && g.met(s)
		s.Met = &met
	}
	r.Steps = append(r.Steps, s)
}

func (r *report) failures() int {
	n := 0
	for _, s := range r.Steps {
		if s.Failed != "" {
			n++
		}
	}
	return n
}

// print writes the table, to stdout or, with JSON on stdout, to stderr.
func (r *report) print(stdout, stderr io.Writer, asJSON bool) error {
	if !asJSON {
		return r.table(stdout)
	}
	if err := r.table(stderr); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) table(w io.Writer) error {
	m := r.Machine
	fmt.Fprintf(w, "\ntree: %d files, %s, scale %g, seed %d; rtt %s", r.Files, human(r.Bytes), r.Scale, r.Seed, r.RTT)
	if r.Jobs > 0 {
		fmt.Fprintf(w, "; pando --jobs %d", r.Jobs)
	}
	fmt.Fprintf(w, "\nmachine: %d CPUs (%s), %s memory, Linux %s, %s, %s\n", m.CPUs, m.CPU, human(m.MemBytes), m.Kernel, m.Go, m.Rsync)
	fmt.Fprintf(w, "load average: %s before, %s after\n", orDash(m.LoadBefore), orDash(m.LoadAfter))
	if r.Change.total() > 0 {
		fmt.Fprintf(w, "change: %s\n", r.Change)
	}
	const row = "%-21s %9s %9s %7s %7s %6s  %s\n"
	fmt.Fprintf(w, row, "step", "pando s", "rsync s", "ratio", "goal", "met", "check")
	for _, s := range r.Steps {
		ratio := optNum(s.Ratio, "%.1fx")
		if s.Ratio != nil && *s.Ratio < 10 {
			ratio = optNum(s.Ratio, "%.2fx") // so that 0.96 does not read as 1.0
		}
		if s.Failed != "" {
			ratio = "-" // the time of a broken sync means nothing
		}
		fmt.Fprintf(w, row, s.Name, fmt.Sprintf("%.3f", s.Pando), optNum(s.Rsync, "%.3f"), ratio,
			orDash(s.Goal), metText(s), s.Check)
	}
	for _, s := range r.Steps {
		if s.Failed != "" {
			fmt.Fprintf(w, "FAILED %s: %s\n", s.Name, s.Failed)
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func optNum(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func metText(s step) string {
	switch {
	case s.Failed != "":
		return "FAILED"
	case s.Met == nil:
		return "-"
	case *s.Met:
		return "yes"
	}
	return "no"
}

// probeMachine describes the machine; what cannot be read stays empty.
func probeMachine(ctx context.Context) machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseInt(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 10, 64); err == nil {
		m.MemBytes = kb << 10
	}
	m.LoadBefore = hostinfo.LoadAverage()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if r, err := runCmd(ctx, 10*time.Second, "", "rsync", "--version"); err == nil {
		m.Rsync, _, _ = strings.Cut(r.stdout, "\n")
		m.Rsync = strings.Join(strings.Fields(m.Rsync), " ")
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(name, key string) string {
	f, err := os.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan() && i < 10000; i++ {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
