package status

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ max, top, step float64 }{
		{0, 1, 0.25},
		{-3, 1, 0.25},
		{math.NaN(), 1, 0.25},
		{1, 1, 0.25},
		{7, 8, 2},
		{30, 30, 10},
		{115, 150, 50},
		{0.4, 0.4, 0.1},
		{1234, 1500, 500},
	} {
		top, step := niceScale(tc.max)
		if math.Abs(top-tc.top) > 1e-9 || math.Abs(step-tc.step) > 1e-9 {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.max, top, step, tc.top, tc.step)
		}
	}
}

func TestReduceKeepsTheWorst(t *testing.T) {
	var in []sample
	for i := range 1000 {
		in = append(in, sample{T: testNow.Add(time.Duration(i) * time.Minute), V: 1, Valid: true})
	}
	in[517].V = 0.2 // a short dip
	in[900].Valid = false
	out := reduce(in, 100, func(a, b float64) bool { return a < b })
	if len(out) != 100 {
		t.Fatalf("%d samples, want 100", len(out))
	}
	if !slices.ContainsFunc(out, func(s sample) bool { return s.V == 0.2 }) {
		t.Errorf("the dip was reduced away")
	}
	if short := reduce(in[:50], 100, nil); len(short) != 50 {
		t.Errorf("reduce of 50 samples to 100: %d", len(short))
	}
}

func TestLineChartGaps(t *testing.T) {
	from, to := testNow.Add(-4*time.Hour), testNow
	l := line{Name: "https", Samples: []sample{
		{T: from.Add(time.Hour), V: 1, Valid: true},
		{T: from.Add(2 * time.Hour), V: 1, Valid: true},
		{T: from.Add(3 * time.Hour)}, // down
		{T: from.Add(4 * time.Hour), V: 0.5, Valid: true},
	}}
	c := lineChart("c", "Completeness", from, to, completeScale(), []line{l})
	if len(c.Series) != 1 || len(c.Series[0].Segments) != 1 || len(c.Series[0].Dots) != 1 {
		t.Fatalf("series %+v: want one segment and one lone dot", c.Series)
	}
	if got, want := c.Series[0].Segments[0], "204.0,12.0 344.0,12.0"; got != want {
		t.Errorf("segment %q, want %q", got, want)
	}
	if got, want := c.Series[0].Dots[0], [2]float64{624, 101}; got != want {
		t.Errorf("dot %v, want %v", got, want)
	}
	if want := "Completeness from 2025-03-14 08:00 UTC to 2025-03-14 12:00 UTC. https: latest 50 %, worst 50 %."; c.Desc != want {
		t.Errorf("desc %q, want %q", c.Desc, want)
	}
	var labels []string
	for _, tk := range c.XTicks {
		labels = append(labels, fmt.Sprintf("%s@%v", tk.Label, tk.Pos))
	}
	if want := []string{"08:00@64", "09:00@204", "10:00@344", "11:00@484", "12:00@624"}; !slices.Equal(labels, want) {
		t.Errorf("x ticks %v, want %v", labels, want)
	}
	empty := lineChart("e", "Lag", from, to, lagScale(0), []line{{Name: "https", Samples: []sample{{T: from}}}})
	if empty.Empty == "" || empty.Series != nil {
		t.Errorf("a chart without values: %+v", empty)
	}
}

func TestBarChart(t *testing.T) {
	from, to := testNow.Add(-29*24*time.Hour), testNow
	days := []DayCount{
		{Day: dayOf(testNow), Count: 5},
		{Day: dayOf(testNow).Add(-24 * time.Hour), Count: 3},
		{Day: dayOf(testNow).Add(24 * time.Hour), Count: 1000},    // after the range: ignored
		{Day: dayOf(testNow).Add(-2 * 24 * time.Hour), Count: -7}, // nonsense: ignored
	}
	c := barChart("b", "Downloads", from, to, days)
	if len(c.Bars) != 30 {
		t.Fatalf("%d bars, want 30", len(c.Bars))
	}
	if last := c.Bars[29]; last.Title != "Mar 14: 5" || last.H <= c.Bars[28].H {
		t.Errorf("last bars %+v %+v", c.Bars[28], last)
	}
	if len(c.XTicks) > 8 || c.XTicks[len(c.XTicks)-1].Label != "Mar 14" {
		t.Errorf("x ticks %+v: want at most 8, the last on Mar 14", c.XTicks)
	}
	if want := "Downloads per day from 2025-02-13 to 2025-03-14: 8 in all, at most 5 in a day."; c.Desc != want {
		t.Errorf("desc %q, want %q", c.Desc, want)
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 s", 59 * time.Second: "59 s", 90 * time.Second: "1 min", 3 * time.Hour: "3 h",
		200 * time.Minute: "3 h 20 min", 52 * time.Hour: "2 d 4 h", 48 * time.Hour: "2 d", -time.Minute: "1 min",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for f, want := range map[float64]string{1: "100 %", 0.99999: "99.9 %", 0.5: "50 %", 0: "0 %", 0.6666: "66.6 %"} {
		if got := percent(f); got != want {
			t.Errorf("percent(%v) = %q, want %q", f, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{9: "9 B", 1500: "1.5 kB", 4_700_000_000: "4.7 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	if got := ago(testNow, testNow.Add(5*24*time.Hour)); got != "in 5 d" {
		t.Errorf("ago of a future time: %q", got)
	}
}
