package status

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Charts are drawn on the server as inline SVG: a chart is computed here
// into a chartView of coordinates and labels, and templates/parts.html
// turns it into markup, so html/template escapes every label. The SVG has
// a <title> and a <desc> summing up the data for screen readers, and lines
// differ by dash pattern as well as by colour.

// Geometry of every chart, in SVG user units; the SVG scales to its box.
const (
	chartW, chartH    = 640, 220
	padLeft, padRight = 64, 16
	padTop, padBottom = 12, 30
	maxPoints         = 600 // samples per line after reduction
	maxSeries         = 8   // lines per chart; beyond get no style of their own
)

// A chartView is a chart ready for the template.
type chartView struct {
	ID, Title, Desc string
	W, H            float64
	Left, Top       float64 // plot area
	Right, Bottom   float64
	XTicks, YTicks  []tick
	Series          []seriesView
	Bars            []barView
	Empty           string // shown instead of a plot when there is no data
}

// A tick is a grid line with its label, at Pos on its axis.
type tick struct {
	Pos   float64
	Label string
}

// A seriesView is one line: its polyline segments (broken where there is
// no value) and single points that have no neighbour to join.
type seriesView struct {
	Name, Class string
	Segments    []string
	Dots        [][2]float64
}

// A barView is one bar with its label for a tooltip.
type barView struct {
	X, Y, W, H float64
	Title      string
}

// A sample is one value at a time; Valid false leaves a gap.
type sample struct {
	T     time.Time
	V     float64
	Valid bool
}

// A line is a named series of samples, oldest first.
type line struct {
	Name    string
	Samples []sample
}

// A scale maps values to the y axis: from 0 to Max, with ticks every Step,
// labelled by Label; Say formats a raw value for the description.
type scale struct {
	Max, Step float64
	Div       float64 // raw value / Div = axis value
	Label     func(axis float64) string
	Say       func(raw float64) string
	Worse     func(a, b float64) bool // a is worse than b, kept when reducing
}

// plot returns the plot area's corners.
func plot() (left, top, right, bottom float64) {
	return padLeft, padTop, chartW - padRight, chartH - padBottom
}

func newChart(id, title string) chartView {
	l, t, r, b := plot()
	return chartView{ID: id, Title: title, W: chartW, H: chartH, Left: l, Top: t, Right: r, Bottom: b}
}

// lineChart draws lines over [from, to] on scale y.
func lineChart(id, title string, from, to time.Time, y scale, lines []line) chartView {
	c := newChart(id, title)
	if !hasValues(lines) {
		c.Empty = "No data in this period."
		c.Desc = title + ": no data from " + formatTime(from) + " to " + formatTime(to) + "."
		return c
	}
	c.XTicks = timeTicks(from, to)
	c.YTicks = y.ticks()
	var says []string
	for i, l := range lines {
		sv := seriesView{Name: l.Name, Class: "s" + strconv.Itoa(min(i, maxSeries))}
		c.addLine(&sv, reduce(l.Samples, maxPoints, y.Worse), from, to, y)
		c.Series = append(c.Series, sv)
		says = append(says, summary(l, y))
	}
	c.Desc = title + " from " + formatTime(from) + " to " + formatTime(to) + ". " + strings.Join(says, " ")
	return c
}

func hasValues(lines []line) bool {
	for _, l := range lines {
		for _, s := range l.Samples {
			if s.Valid {
				return true
			}
		}
	}
	return false
}

// addLine turns samples into polyline segments and lone dots.
func (c *chartView) addLine(sv *seriesView, samples []sample, from, to time.Time, y scale) {
	var seg [][2]float64
	flush := func() {
		switch len(seg) {
		case 0:
		case 1:
			sv.Dots = append(sv.Dots, seg[0])
		default:
			var b strings.Builder
			for i, p := range seg {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(coord(p[0]) + "," + coord(p[1]))
			}
			sv.Segments = append(sv.Segments, b.String())
		}
		seg = seg[:0]
	}
	for _, s := range samples {
		if !s.Valid || s.T.Before(from) || s.T.After(to) {
			flush()
			continue
		}
		seg = append(seg, [2]float64{c.x(s.T, from, to), c.y(s.V/y.Div, y.Max)})
	}
	flush()
}

func coord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// x maps t in [from, to] to the plot's width.
func (c *chartView) x(t, from, to time.Time) float64 {
	span := to.Sub(from)
	if span <= 0 {
		return c.Left
	}
	return round1(c.Left + (c.Right-c.Left)*float64(t.Sub(from))/float64(span))
}

// round1 rounds to a tenth of a unit, finer than any screen shows.
func round1(f float64) float64 { return math.Round(f*10) / 10 }

// y maps v in [0, top] to the plot's height, clamped.
func (c *chartView) y(v, top float64) float64 {
	if top <= 0 {
		return c.Bottom
	}
	f := math.Max(0, math.Min(1, v/top))
	return round1(c.Bottom - (c.Bottom-c.Top)*f)
}

// summary says a line's latest and worst value.
func summary(l line, y scale) string {
	var latest, worst float64
	n := 0
	for _, s := range l.Samples {
		if !s.Valid {
			continue
		}
		if n == 0 || y.Worse(s.V, worst) {
			worst = s.V
		}
		latest = s.V
		n++
	}
	if n == 0 {
		return l.Name + ": no data."
	}
	return l.Name + ": latest " + y.Say(latest) + ", worst " + y.Say(worst) + "."
}

// reduce keeps at most n samples: the worst valid one of each of n equal
// stretches of the samples, so that a short outage still shows.
func reduce(samples []sample, n int, worse func(a, b float64) bool) []sample {
	if len(samples) <= n || n <= 0 {
		return samples
	}
	out := make([]sample, 0, n)
	for i := range n {
		lo, hi := i*len(samples)/n, (i+1)*len(samples)/n
		pick := samples[lo]
		for _, s := range samples[lo:hi] {
			if s.Valid && (!pick.Valid || worse(s.V, pick.V)) {
				pick = s
			}
		}
		out = append(out, pick)
	}
	return out
}

// ticks returns the y grid from 0 to Max.
func (y scale) ticks() []tick {
	c := newChart("", "")
	var ts []tick
	for i := 0; i <= 10; i++ { // a nice scale has at most 6 steps
		v := float64(i) * y.Step
		if v > y.Max+y.Step/1000 {
			break
		}
		ts = append(ts, tick{Pos: c.y(v, y.Max), Label: y.Label(v)})
	}
	return ts
}

// niceScale returns the top and step of an axis that holds max in about
// four steps of 1, 2, 2.5 or 5 times a power of ten.
func niceScale(max float64) (top, step float64) {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		return 1, 0.25
	}
	raw := max / 4
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * pow; step >= raw {
			break
		}
	}
	return math.Ceil(max/step-1e-9) * step, step
}

// lagScale is the axis for lags whose longest is longest.
func lagScale(longest time.Duration) scale {
	div, unit := 60.0, "min"
	switch {
	case longest >= 72*time.Hour:
		div, unit = 86400, "d"
	case longest >= 2*time.Hour:
		div, unit = 3600, "h"
	}
	top, step := niceScale(max(longest.Seconds()/div, 4)) // at least 0 to 4 minutes
	return scale{Max: top, Step: step, Div: div,
		Label: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + " " + unit },
		Say:   func(raw float64) string { return formatDuration(time.Duration(raw) * time.Second) },
		Worse: func(a, b float64) bool { return a > b }}
}

// completeScale is the axis for completeness, 0 to 100 %.
func completeScale() scale {
	return scale{Max: 100, Step: 25, Div: 0.01,
		Label: func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + " %" },
		Say:   percent,
		Worse: func(a, b float64) bool { return a < b }}
}

// timeTicks returns the x grid for [from, to]: at most about seven ticks
// on round hours or days, UTC.
func timeTicks(from, to time.Time) []tick {
	span := to.Sub(from)
	steps := []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour, 91 * 24 * time.Hour}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 7 {
			step = s
			break
		}
	}
	c := newChart("", "")
	var ts []tick
	t := from.UTC().Truncate(step)
	for i := 0; i < 64 && !t.After(to); i, t = i+1, t.Add(step) {
		if t.Before(from) {
			continue
		}
		label := t.Format("Jan 2")
		if step < 24*time.Hour && (t.Hour() != 0 || t.Minute() != 0) {
			label = t.Format("15:04")
		}
		ts = append(ts, tick{Pos: c.x(t, from, to), Label: label})
	}
	return ts
}

// barChart draws one bar per day from the first day to the last.
func barChart(id, title string, from, to time.Time, days []DayCount) chartView {
	c := newChart(id, title)
	first, last := dayOf(from), dayOf(to)
	counts := map[time.Time]int64{}
	var most, total int64
	for _, d := range days {
		day := dayOf(d.Day)
		if day.Before(first) || day.After(last) || d.Count < 0 {
			continue
		}
		counts[day] += d.Count
		most, total = max(most, counts[day]), total+d.Count
	}
	n := int(last.Sub(first)/(24*time.Hour)) + 1
	c.Desc = title + " per day from " + first.Format("2006-01-02") + " to " + last.Format("2006-01-02") +
		": " + formatCount(total) + " in all, at most " + formatCount(most) + " in a day."
	top, step := niceScale(float64(most))
	top, step = math.Max(top, 4), math.Max(step, 1) // whole numbers of downloads
	y := scale{Max: top, Step: step, Div: 1, Label: func(v float64) string { return formatCount(int64(v)) }}
	c.YTicks = y.ticks()
	slot := (c.Right - c.Left) / float64(n)
	every := (n + 7) / 8 // at most eight labelled days
	for i := range n {
		day := first.Add(time.Duration(i) * 24 * time.Hour)
		v := counts[day]
		top := c.y(float64(v), y.Max)
		c.Bars = append(c.Bars, barView{X: round1(c.Left + slot*(float64(i)+0.1)), Y: top, W: round1(slot * 0.8),
			H: round1(c.Bottom - top), Title: day.Format("Jan 2") + ": " + formatCount(v)})
		if (n-1-i)%every == 0 { // the latest day is always labelled
			c.XTicks = append(c.XTicks, tick{Pos: round1(c.Left + slot*(float64(i)+0.5)), Label: day.Format("Jan 2")})
		}
	}
	return c
}

// dayOf returns midnight UTC of t's day.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
