package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pando-mirror/pando/internal/availability/availtest"
	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/config"
)

// scrape fetches url's /metrics and parses the Prometheus text format.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := noRedirects.Get(base + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// metricValue returns the value of the series of family name whose labels
// include want, and whether there is one. Counters, gauges and a
// histogram's sample count are read.
func metricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestHubMetrics runs a hub over a good and a tampered mirror and checks
// that /metrics reports the first pass and counts redirects as they happen.
// goodAndTamperedHub syncs two mirrors of n, "good" and "tampered" (one
// byte of pool/a/alpha_1.0.tar.gz changed), serves them, and writes a
// hub.toml over them with storeTOML as its [store] table and passes every
// interval. It returns the file's name.
func goodAndTamperedHub(t *testing.T, n *network, storeTOML, interval string) string {
	t.Helper()
	roots := map[string]string{}
	for _, name := range []string{"good", "tampered"} {
		roots[name] = filepath.Join(n.dir, name)
		if r := n.sync(t, n.url, roots[name]); r.code != 0 {
			t.Fatalf("sync %s: %s", name, r.stderr)
		}
	}
	data := readFile(t, roots["tampered"], "pool/a/alpha_1.0.tar.gz")
	data[10] ^= 1
	if err := os.WriteFile(filepath.Join(roots["tampered"], "pool/a/alpha_1.0.tar.gz"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[origin]\nurl = %q\npubkey = %q\n\n[store]\n%s\n\n[check]\ninterval = %q\ntimeout = \"5s\"\n\n", n.url, n.pub, storeTOML, interval)
	b.WriteString(mirrorTOML("good", "http", startServe(t, roots["good"])))
	b.WriteString(mirrorTOML("tampered", "http", startServe(t, roots["tampered"])))
	cfg := filepath.Join(n.dir, "hub.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestHubMetrics(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	hub, _ := runHubProcess(t, goodAndTamperedHub(t, n, `path = "hub.db"`, "1h"))

	before := scrape(t, hub)
	checkPassMetrics(t, before)
	good := map[string]string{"mirror": "good", "result": "redirect"}
	start, _ := metricValue(before, "pando_redirects_total", good)
	const gets = 5
	for range gets {
		resp, err := noRedirects.Get(hub + "pool/b/beta_2.0.tar.gz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET: %s, want 302", resp.Status)
		}
	}
	after, _ := metricValue(scrape(t, hub), "pando_redirects_total", good)
	if after-start != gets {
		t.Errorf("redirects to good went from %v to %v after %d GETs, want +%d", start, after, gets, gets)
	}
	checkHubRequestKinds(t, hub)
}

// checkHubRequestKinds asks the hub for one thing of each kind and wants
// each counted under its kind, and the scrapes themselves not at all.
func checkHubRequestKinds(t *testing.T, hub string) {
	t.Helper()
	kinds := []struct{ path, kind, result string }{
		{"", "status", "2xx"},
		{"mirrors/good", "status", "2xx"},
		{"api/v1/mirrors", "api", "2xx"},
		{"mirrors.json", "api", "2xx"},
		{"availability.map", "map", "4xx"}, // this hub has no key to sign one
		{"pool/b/beta_2.0.tar.gz?mirrorlist", "mirrorlist", "2xx"},
		{"pool/b/beta_2.0.tar.gz.meta4", "metalink", "2xx"},
		{"pool/b/beta_2.0.tar.gz", "object", "3xx"},
	}
	value := func(fams map[string]*dto.MetricFamily, kind, result string) float64 {
		v, _ := metricValue(fams, "pando_http_requests_total", map[string]string{"kind": kind, "result": result})
		return v
	}
	before := scrape(t, hub)
	for _, k := range kinds {
		resp, err := noRedirects.Get(hub + k.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	after := scrape(t, hub)
	for _, k := range kinds {
		if d := value(after, k.kind, k.result) - value(before, k.kind, k.result); d < 1 {
			t.Errorf("GET /%s: pando_http_requests_total{kind=%q,result=%q} moved by %v, want at least 1", k.path, k.kind, k.result, d)
		}
	}
	if _, ok := after["pando_http_requests_total"]; ok && value(after, "metrics", "2xx") != 0 {
		t.Error("scrapes of /metrics were counted")
	}
}

// checkPassMetrics checks what the first pass over a good and a tampered
// mirror must have recorded.
func checkPassMetrics(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	if v, ok := metricValue(fams, "pando_check_pass_duration_seconds", nil); !ok || v < 1 {
		t.Errorf("pass duration count = %v (present %v), want >= 1", v, ok)
	}
	if v, ok := metricValue(fams, "pando_mirror_problems", map[string]string{"mirror": "tampered", "kind": "hash"}); v != 1 {
		t.Errorf("hash problems of the tampered mirror = %v (present %v), want 1", v, ok)
	}
	if v, ok := metricValue(fams, "pando_mirror_ok", map[string]string{"mirror": "good"}); v != 1 {
		t.Errorf("pando_mirror_ok{mirror=good} = %v (present %v), want 1", v, ok)
	}
	if v, _ := metricValue(fams, "pando_mirror_ok", map[string]string{"mirror": "tampered"}); v != 0 {
		t.Errorf("pando_mirror_ok{mirror=tampered} = %v, want 0", v)
	}
	if v, _ := metricValue(fams, "pando_origin_records", nil); v < 1 {
		t.Errorf("pando_origin_records = %v, want >= 1", v)
	}
}

// TestRedirectEdgeMetrics runs the edge redirector over a signed map and
// checks that its /metrics counts redirects by the mirror chosen.
func TestRedirectEdgeMetrics(t *testing.T) {
	dir := t.TempDir()
	hubSigner, hubPub := edgeKeys(t, dir, "hub.example.org")
	w, err := availtest.New("repo.example.org", map[string][]byte{"pool/a.iso": []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	w.AddMirror(config.Mirror{Name: "de", HTTP: "http://de.example/", Country: "DE", Weight: 100})
	w.Hold("de", config.AccessHTTP)
	mapFile := filepath.Join(dir, "availability.map")
	writeEdgeMap(t, mapFile, w, 1700000000, hubSigner)

	addr := freeAddr(t)
	var stderr buftest.Buffer
	cmd := exec.Command(pandoBin, "redirect", "--map", mapFile, "--pubkey", hubPub, "--listen", addr, "--reload", "0")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	waitFor(t, "the edge to listen", func() bool { return strings.Contains(stderr.String(), "redirector ready") }, &stderr)

	const gets = 3
	for range gets {
		if got := edgeLocation(t, base, "/pool/a.iso", "127.0.1.1"); got != "http://de.example/pool/a.iso" {
			t.Fatalf("Location %q", got)
		}
	}
	fams := scrape(t, base+"/")
	if v, _ := metricValue(fams, "pando_redirects_total", map[string]string{"mirror": "de", "result": "redirect"}); v != gets {
		t.Errorf("edge redirects to de = %v, want %d", v, gets)
	}
	if v, _ := metricValue(fams, "pando_http_requests_total", map[string]string{"kind": "object", "result": "3xx"}); v != gets {
		t.Errorf("edge object requests answered 3xx = %v, want %d", v, gets)
	}
}
