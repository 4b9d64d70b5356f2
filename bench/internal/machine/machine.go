// Package machine describes the machine a benchmark ran on, from /proc:
// figures are only comparable with the machine they were measured on.
package machine

import (
	"os"
	"strings"
)

// CPUModel returns the processor's name from /proc/cpuinfo, or "".
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// LoadAverage returns the 1, 5 and 15 minute load averages, or "": the
// machine may be shared, and other work there slows every measurement.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}
