package stats

import (
	"fmt"
	"testing"
)

// BenchmarkStatsParserLine parses and counts a mix of lines like a
// mirror's log: downloads of a few hundred objects, some with queries or
// escapes, and lines that count for nothing.
func BenchmarkStatsParserLine(b *testing.B) {
	var lines [][]byte
	for i := range 1000 {
		obj := fmt.Sprintf("/org/example%d/lib-%d/1.%d/lib-%d-1.%d.jar", i%7, i%300, i%4, i%300, i%4)
		l := clf(i, "GET", obj, 200)
		switch i % 20 {
		case 0:
			l = clf(i, "HEAD", obj, 200)
		case 1:
			l = clf(i, "GET", obj+"?sha=1", 200)
		case 2:
			l = clf(i, "GET", obj, 404)
		case 3:
			l = "garbage\n"
		}
		lines = append(lines, []byte(l[:len(l)-1]))
	}
	p := testParser(Combined)
	c := newCounts()
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		for _, l := range lines {
			d, path, o := p.Line(l)
			if o == Download {
				c.add(d, path)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
