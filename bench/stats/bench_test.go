package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/stats"
)

// TestGenerateStats: the generator is deterministic, and the downloads it
// says it wrote are exactly the lines the stats parser counts.
func TestGenerateStats(t *testing.T) {
	cfg := config{lines: 20000, objects: 500, days: 3, seed: 7}
	end := time.Date(2026, 11, 22, 23, 59, 59, 0, time.UTC)
	var a, b bytes.Buffer
	ga, err := generate(&a, cfg, end)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := generate(&b, cfg, end); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two logs of the same seed differ (%v)", err)
	}
	if ga.lines != cfg.lines || ga.bytes != int64(a.Len()) || ga.downloads < 15000 || ga.downloads > 18000 {
		t.Fatalf("generated %+v", ga)
	}
	first, last := stats.SaneDays(end)
	p := &stats.Parser{Format: stats.Combined, First: first, Last: last}
	var tally stats.Tally
	sc := bufio.NewScanner(&a)
	for sc.Scan() {
		_, _, o := p.Line(sc.Bytes())
		tally.Add(o)
	}
	if tally.Downloads() != ga.downloads || tally.Lines != int64(cfg.lines) {
		t.Errorf("the parser counts %d downloads in %d lines, the generator wrote %d", tally.Downloads(), tally.Lines, ga.downloads)
	}
	for _, o := range []stats.Outcome{stats.Malformed, stats.NotGET, stats.NotOK, stats.Partial, stats.Metadata, stats.NotObject} {
		if tally.By[o] == 0 {
			t.Errorf("no %v lines in the generated log", o)
		}
	}
}

func TestCheckCountsStats(t *testing.T) {
	out := []byte("2026-11-20 3 a b.jar\n2026-11-21 4 c.jar\n")
	if err := checkCounts(out, 7); err != nil {
		t.Error(err)
	}
	if err := checkCounts(out, 8); err == nil || !strings.Contains(err.Error(), "counted 7 downloads, the log has 8") {
		t.Errorf("checkCounts with a wrong total: %v", err)
	}
	if err := checkCounts([]byte("oops\n"), 0); err == nil {
		t.Error("checkCounts accepted a bad line")
	}
}
