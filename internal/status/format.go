package status

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// funcs are the helpers templates format values with.
func funcs() template.FuncMap {
	return template.FuncMap{
		"ago":      ago,
		"duration": formatDuration,
		"utc":      formatTime,
		"iso":      isoTime,
		"percent":  percent,
		"bytes":    formatBytes,
		"count":    formatCount,
		"short":    shortHash,
		"lower":    strings.ToLower,
		"fadd":     func(a, b float64) float64 { return a + b },
		"fsub":     func(a, b float64) float64 { return a - b },
	}
}

// formatDuration says d in at most two units: "0 s", "45 s", "12 min",
// "3 h 20 min", "2 d 4 h".
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + " s"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + " min"
	case s < 86400:
		return twoUnits(s/3600, "h", s%3600/60, "min")
	default:
		return twoUnits(s/86400, "d", s%86400/3600, "h")
	}
}

func twoUnits(a int64, ua string, b int64, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, ua)
	}
	return fmt.Sprintf("%d %s %d %s", a, ua, b, ub)
}

// ago says how long before now t was, or how long after.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d > -time.Second && d < time.Second:
		return "just now"
	case d < 0:
		return "in " + formatDuration(-d)
	}
	return formatDuration(d) + " ago"
}

// formatTime shows t to the minute, in UTC.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// isoTime is t for a datetime attribute.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// percent shows a fraction from 0 to 1 as a percentage, rounded down so
// that only a whole tree shows 100 %.
func percent(f float64) string {
	if math.IsNaN(f) {
		return "?"
	}
	p := math.Floor(f*1000) / 10
	if p == math.Trunc(p) {
		return strconv.FormatFloat(p, 'f', 0, 64) + " %"
	}
	return strconv.FormatFloat(p, 'f', 1, 64) + " %"
}

// formatBytes shows n bytes in SI units.
func formatBytes(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB", "PB"} {
		f /= 1000
		if f < 1000 {
			return strconv.FormatFloat(f, 'f', 1, 64) + " " + u
		}
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + " EB"
}

// formatCount writes n with commas between groups of three digits.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// shortHash shortens a hex digest for a table cell; the full value is
// shown where the object is described.
func shortHash(s string) string {
	if len(s) <= 16 {
		return s
	}
	return s[:16] + "…"
}
