package status

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/store"
)

func TestProblemHistory(t *testing.T) {
	at := func(h int) time.Time { return testNow.Add(time.Duration(h) * time.Hour) }
	counts := []map[store.ProblemKind]int{
		nil, nil,
		{store.Missing: 3},
		{store.Missing: 3},
		{store.Missing: 1, store.Hash: 1},
		nil,
	}
	var hist []store.MirrorResult
	for i, c := range counts {
		hist = append(hist, store.MirrorResult{Mirror: "m", Checked: at(i), ProblemCounts: c})
	}
	got, more := problemHistory(hist)
	var lines []string
	for _, p := range got {
		var ks []string
		for _, c := range p.Problems {
			ks = append(ks, fmt.Sprintf("%s×%d", c.Kind, c.Count))
		}
		until := "now"
		if !p.Ongoing {
			until = p.Until.Sub(testNow).String()
		}
		lines = append(lines, fmt.Sprintf("%s..%s %d [%s]", p.From.Sub(testNow), until, p.Checks, strings.Join(ks, " ")))
	}
	want := []string{
		"5h0m0s..now 1 []",
		"4h0m0s..5h0m0s 1 [hash×1 missing×1]", // the most severe first
		"2h0m0s..4h0m0s 2 [missing×3]",
		"0s..2h0m0s 2 []",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") || more {
		t.Errorf("problemHistory =\n%s\nmore %v; want\n%s", strings.Join(lines, "\n"), more, strings.Join(want, "\n"))
	}

	// Only the newest maxPeriods are listed.
	hist = hist[:0]
	for i := range maxPeriods + 5 {
		var c map[store.ProblemKind]int
		if i%2 == 1 {
			c = map[store.ProblemKind]int{store.Stale: 1}
		}
		hist = append(hist, store.MirrorResult{Checked: at(i), ProblemCounts: c})
	}
	got, more = problemHistory(hist)
	if len(got) != maxPeriods || !more || !got[0].From.Equal(at(maxPeriods+4)) {
		t.Errorf("with %d periods: listed %d, more %v, newest from %v", maxPeriods+5, len(got), more, got[0].From)
	}
	if got, more := problemHistory(nil); got != nil || more {
		t.Errorf("problemHistory(nil) = %v, %v", got, more)
	}
}

func TestMirrorPageProblemHistory(t *testing.T) {
	h := Handler(newWorld(t), testOptions())
	code, page := get(t, h, "/mirrors/ohio")
	if code != http.StatusOK {
		t.Fatalf("GET /mirrors/ohio: %d", code)
	}
	// ohio was fine at the first two checks and stale from the third on.
	mustContain(t, "ohio", visibleText(page), "Problem history since",
		"From Until Checks Problems found",
		formatTime(passAt(2))+" now 2 stale",
		formatTime(passAt(0))+" "+formatTime(passAt(2))+" 2 none")
}
