//go:build unix

package web

import (
	"encoding/json"
	"fmt"
	"html"
	"testing"
)

// The weighted choice is tested in one page load per case: the page calls
// PandoMirrors.rewrite once per seed in its list (null: no seed, so
// crypto.getRandomValues) and lists "state href" after each call.

// mulberry32 is the first output of the generator pando-mirrors.js uses for
// data-pando-seed: a number in [0, 1).
func mulberry32(seed uint32) float64 {
	a := seed + 0x6d2b79f5
	t := (a ^ a>>15) * (a | 1)
	t = (t + (t^t>>7)*(t|61)) ^ t
	return float64(t^t>>14) / (1 << 32)
}

// pickModel is pando-mirrors.js's weighted choice: the index of the weight
// whose share of [0, 1), in order, holds r.
func pickModel(weights []int, r float64) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	point := r * float64(total)
	for i, w := range weights {
		if point < float64(w) {
			return i
		}
		point -= float64(w)
	}
	return len(weights) - 1
}

// seedWithDraw returns a seed whose draw is in [lo, hi).
func seedWithDraw(t *testing.T, lo, hi float64) uint32 {
	t.Helper()
	for seed := uint32(0); seed < 1<<22; seed++ {
		if r := mulberry32(seed); lo <= r && r < hi {
			return seed
		}
	}
	t.Fatalf("no seed below %d draws a number in [%v, %v)", 1<<22, lo, hi)
	return 0
}

// picksPage returns a page that calls rewrite once for each seed.
func picksPage(t *testing.T, seeds []any) testPage {
	t.Helper()
	js, err := json.Marshal(seeds)
	if err != nil {
		t.Fatal(err)
	}
	return testPage{
		scriptAttrs: defaultScriptAttrs + " data-pando-manual",
		extra: fmt.Sprintf(`<ul id="picks" data-seeds="%s"></ul>
<script>
document.addEventListener("DOMContentLoaded", async function () {
  const list = document.getElementById("picks");
  for (const seed of JSON.parse(list.getAttribute("data-seeds"))) {
    const state = await PandoMirrors.rewrite({seed: seed});
    const item = document.createElement("li");
    item.textContent = state + " " + document.getElementById("sig").getAttribute("href");
    list.appendChild(item);
  }
});
</script>`, html.EscapeString(string(js))),
	}
}

// picks loads a picks page for mirrors and seeds and returns, for each
// seed, the index of the mirror chosen.
func picks(t *testing.T, prefixes []string, weights []int, seeds []any) []int {
	t.Helper()
	var entries []string
	for i, p := range prefixes {
		entries = append(entries, fmt.Sprintf(`{"url_prefix": %q, "weight": %d}`, p, weights[i]))
	}
	base := site{page: picksPage(t, seeds), mirrors: mirrorsJSON(mirrorList(entries...))}.start(t)
	items := parsePage(dumpDOM(t, base+"/page.html", load{})).items
	if len(items) != len(seeds) {
		t.Fatalf("page made %d picks, want %d: %q", len(items), len(seeds), items)
	}
	got := make([]int, len(items))
	for i, item := range items {
		got[i] = -1
		for j, p := range prefixes {
			if item == "rewritten "+p+"releases/1.0/os.iso.sig" {
				got[i] = j
			}
		}
		if got[i] < 0 {
			t.Fatalf("pick %d (seed %v): %q is none of the mirrors %q", i, seeds[i], item, prefixes)
		}
	}
	return got
}

var twoMirrors = []string{"https://a.example/", "https://b.example/"}

func TestSeededPicksFollowWeights(t *testing.T) {
	t.Parallel()
	weights := []int{3, 1}
	var seeds []any
	for seed := range uint32(40) {
		seeds = append(seeds, seed)
	}
	// Either side of the boundary between a's share [0, 3/4) and b's.
	for _, r := range [][2]float64{{0, 0.001}, {0.7499, 0.75}, {0.75, 0.7501}, {0.999, 1}} {
		seeds = append(seeds, seedWithDraw(t, r[0], r[1]))
	}
	got := picks(t, twoMirrors, weights, seeds)
	for i, seed := range seeds {
		r := mulberry32(seed.(uint32))
		if want := pickModel(weights, r); got[i] != want {
			t.Errorf("seed %d (draw %.5f): picked %s, want %s", seed, r, twoMirrors[got[i]], twoMirrors[want])
		}
	}
}

func TestWeightZeroIsNeverPicked(t *testing.T) {
	t.Parallel()
	// The weight-0 mirror is first, so the lowest draws would pick it.
	seeds := []any{seedWithDraw(t, 0, 0.001), seedWithDraw(t, 0.999, 1)}
	for range 100 {
		seeds = append(seeds, nil)
	}
	for i, m := range picks(t, twoMirrors, []int{0, 1}, seeds) {
		if m != 1 {
			t.Fatalf("pick %d (seed %v): picked %s, which has weight 0", i, seeds[i], twoMirrors[m])
		}
	}
}

// TestRandomPicksFollowWeights makes 400 unseeded picks between mirrors
// weighted 3:1. a is expected 300 times (standard deviation 8.7); the test
// accepts 250 to 350, which a fair choice misses about once in 10^8 runs.
func TestRandomPicksFollowWeights(t *testing.T) {
	t.Parallel()
	const n, lo, hi = 400, 250, 350
	seeds := make([]any, n)
	count := 0
	for _, m := range picks(t, twoMirrors, []int{3, 1}, seeds) {
		if m == 0 {
			count++
		}
	}
	if count < lo || count > hi {
		t.Errorf("a (weight 3) picked %d times out of %d, b (weight 1) %d; want a between %d and %d", count, n, n-count, lo, hi)
	}
}
