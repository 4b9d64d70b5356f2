package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// writeScript writes wrk's Lua script: each request takes the next path
// and the next X-Forwarded-For address from the lists, round robin, with a
// per-thread offset so that threads do not move in step. The requests are
// formatted once, in init, so that wrk's CPU goes to sending and reading
// rather than to building strings in Lua: formatting each request as it
// was sent cost wrk 3.4-4.0 us of user time a request, a fixed table
// 1.2-1.7 us (wrk's kernel time, 9-12 us a request, is the same).
func writeScript(dir string, paths, ips []string) (string, error) {
	var b strings.Builder
	b.WriteString("local paths = {\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "  %q,\n", p)
	}
	b.WriteString("}\nlocal ips = {\n")
	for _, ip := range ips {
		fmt.Fprintf(&b, "  %q,\n", ip)
	}
	// The pairs of path and address repeat after lcm(#paths, #ips)
	// requests, as they did when each request was formatted on the fly;
	// past 65,536 (a -places run) after the longer list, so that every
	// path and every address is still sent.
	n := lcm(len(paths), len(ips))
	if n > 1<<16 {
		n = max(len(paths), len(ips))
	}
	fmt.Fprintf(&b, `}
local reqs, i = {}, 0
function init(args)
  for j = 1, %d do
    reqs[j] = wrk.format("GET", paths[(j - 1) %% #paths + 1], { ["X-Forwarded-For"] = ips[(j - 1) %% #ips + 1] })
  end
  i = math.random(1, #reqs)
end
function request()
  i = i %% #reqs + 1
  return reqs[i]
end
`, n)
	file := filepath.Join(dir, "redirect.lua")
	return file, os.WriteFile(file, []byte(b.String()), 0o644)
}

// lcm returns the least common multiple of a and b, both > 0.
func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// A load is one wrk run's figures.
type load struct {
	rps      float64
	p50, p99 time.Duration
	requests int64
	cpu      time.Duration // the server's CPU time (user and system) per request
	errors   string        // non-empty if wrk saw errors or non-3xx answers
}

// runWrk loads addr for d with conns connections, on cpus ("" for any).
func runWrk(ctx context.Context, cpus, addr, script string, threads, conns int, d time.Duration) (load, error) {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	args := []string{"-t", strconv.Itoa(min(threads, conns)), "-c", strconv.Itoa(conns), "-d", d.String(),
		"--latency", "--timeout", "5s", "-s", script, "http://" + addr + "/"}
	name, all := pinned(cpus, "wrk", args)
	out, err := exec.CommandContext(ctx, name, all...).CombinedOutput()
	if err != nil {
		return load{}, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return parseWrk(string(out))
}

var (
	rpsRE    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	pctRE    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	totalRE  = regexp.MustCompile(`(\d+) requests in`)
	errorsRE = regexp.MustCompile(`(Socket errors:.*|Non-2xx or 3xx responses: \d+)`)
)

func unit(s string) time.Duration {
	switch s {
	case "us":
		return time.Microsecond
	case "ms":
		return time.Millisecond
	}
	return time.Second
}

func parseWrk(out string) (load, error) {
	var l load
	m := rpsRE.FindStringSubmatch(out)
	t := totalRE.FindStringSubmatch(out)
	if m == nil || t == nil {
		return l, fmt.Errorf("cannot read wrk's output:\n%s", out)
	}
	l.rps, _ = strconv.ParseFloat(m[1], 64)
	l.requests, _ = strconv.ParseInt(t[1], 10, 64)
	for _, p := range pctRE.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		d := time.Duration(v * float64(unit(p[3])))
		if p[1] == "50" {
			l.p50 = d
		} else {
			l.p99 = d
		}
	}
	if e := errorsRE.FindAllString(out, -1); e != nil {
		l.errors = strings.Join(e, "; ")
	}
	return l, nil
}
