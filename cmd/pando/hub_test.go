package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/store"
)

// noRedirects is a client that reports redirects instead of following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// runHubProcess runs "pando hub" on cfg and waits for its first pass.
func runHubProcess(t *testing.T, cfg string) (url string, cmd *exec.Cmd) {
	t.Helper()
	addr := freeAddr(t)
	cmd = exec.Command(pandoBin, "hub", "--config", cfg, "--listen", addr)
	errb := &buftest.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("pando hub did not exit cleanly on SIGTERM: %v\n%s", err, errb.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("pando hub did not stop within 15 s of SIGTERM")
		}
	})
	url = "http://" + addr + "/"
	waitPasses(t, url, 1, errb)
	return url, cmd
}

// waitPasses waits until the hub has completed at least n passes.
func waitPasses(t *testing.T, hub string, n int64, log *buftest.Buffer) {
	t.Helper()
	for range 300 {
		var st struct{ Passes int64 }
		if err := hubJSON(hub+"api/v1/status", &st); err == nil && st.Passes >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hub %s never completed %d passes:\n%s", hub, n, log.String())
}

func hubJSON(url string, v any) error {
	resp, err := noRedirects.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// TestHubRedirectsAndReloads runs a hub over a good, a stale and a tampered
// mirror: downloads go only where the right bytes are, the API reports each
// mirror, and SIGHUP applies a new hub.toml without a restart.
func TestHubRedirectsAndReloads(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	sync := func(name string) string {
		root := filepath.Join(n.dir, name)
		if r := n.sync(t, n.url, root); r.code != 0 {
			t.Fatalf("sync %s: %s", name, r.stderr)
		}
		return root
	}
	good, stale, tampered := sync("good"), sync("stale"), sync("tampered")
	writeFiles(t, n.origin, map[string]string{"pool/new.tar.gz": "published after the stale mirror's last sync"})
	n.publish(t)
	sync("good")
	sync("tampered")
	data := readFile(t, tampered, "pool/a/alpha_1.0.tar.gz")
	data[10] ^= 1
	os.WriteFile(filepath.Join(tampered, "pool/a/alpha_1.0.tar.gz"), data, 0o644)
	urls := map[string]string{"good": startServe(t, good), "stale": startServe(t, stale), "tampered": startServe(t, tampered)}

	cfg := filepath.Join(n.dir, "hub.toml")
	hubKey, hubPub := keys(t, n.dir, "hub.example.org")
	write := func(tamperedWeight int) {
		var b strings.Builder
		fmt.Fprintf(&b, "[origin]\nurl = %q\npubkey = %q\n\n[store]\npath = \"hub.db\"\n\n[check]\ninterval = \"1h\"\ntimeout = \"5s\"\n\n", n.url, n.pub)
		fmt.Fprintf(&b, "[hub]\nkey = %q\nmap_file = \"availability.map\"\n\n", hubKey)
		for _, name := range []string{"good", "stale", "tampered"} {
			w := 100
			if name == "tampered" {
				w = tamperedWeight
			}
			fmt.Fprintf(&b, "[[mirror]]\nname = %q\nhttp = %q\nweight = %d\n\n", name, urls[name], w)
		}
		if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(100)
	hub, cmd := runHubProcess(t, cfg)

	where := func(p string) map[string]int {
		seen := map[string]int{}
		for range 60 {
			resp, err := noRedirects.Get(hub + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("GET %s: %s, want 302", p, resp.Status)
			}
			loc := resp.Header.Get("Location")
			name := "fallback"
			for m, u := range urls {
				if strings.HasPrefix(loc, u) {
					name = m
				}
			}
			if name == "fallback" && !strings.HasPrefix(loc, n.url) {
				t.Fatalf("GET %s: Location %q is neither a mirror nor the origin", p, loc)
			}
			seen[name]++
		}
		return seen
	}
	// The tampered object never goes to the tampered mirror; a mirror with
	// any tampering is not trusted for other objects either.
	if s := where("pool/a/alpha_1.0.tar.gz"); s["tampered"] > 0 || s["good"] == 0 {
		t.Errorf("tampered object went to %v", s)
	}
	// The new object never goes to the stale mirror, which lacks it.
	if s := where("pool/new.tar.gz"); s["stale"] > 0 || s["good"] != 60 {
		t.Errorf("new object went to %v, want only the good mirror", s)
	}
	// An object the stale mirror holds at its current version may go there.
	if s := where("index.html"); s["stale"] == 0 || s["tampered"] > 0 {
		t.Errorf("old object went to %v, want good and stale", s)
	}

	// The API names each mirror and its state.
	var mirrors struct {
		Mirrors []struct {
			Name     string
			OK       bool
			Problems []struct{ Kind, Path string }
		}
	}
	if err := hubJSON(hub+"api/v1/mirrors", &mirrors); err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, m := range mirrors.Mirrors {
		var ks []string
		for _, p := range m.Problems {
			ks = append(ks, p.Kind+" "+p.Path)
		}
		state[m.Name] = fmt.Sprint(m.OK, ks)
	}
	// The stale mirror is behind by less than the check interval: not yet a
	// problem, but it gets no download of what it lacks (above).
	want := map[string]string{"good": "true []", "stale": "true []", "tampered": "false [hash pool/a/alpha_1.0.tar.gz]"}
	for name, w := range want {
		if state[name] != w {
			t.Errorf("api mirror %s: %s, want %s", name, state[name], w)
		}
	}
	var obj struct {
		Path    string
		SHA256  string
		Mirrors []struct {
			Mirror string
			Holds  bool
		}
	}
	if err := hubJSON(hub+"api/v1/objects?path=pool/a/alpha_1.0.tar.gz", &obj); err != nil {
		t.Fatal(err)
	}
	for _, m := range obj.Mirrors {
		if m.Holds != (m.Mirror != "tampered") {
			t.Errorf("api object: mirror %s holds = %v", m.Mirror, m.Holds)
		}
	}
	if resp, err := noRedirects.Get(hub + "api/v1/objects?path=../etc/passwd"); err != nil || resp.StatusCode != 400 {
		t.Errorf("api object with a bad path: %v %v, want 400", resp.Status, err)
	}

	// The hub signs its map for edges: as a file and at /availability.map.
	if _, err := os.Stat(filepath.Join(n.dir, "availability.map")); err != nil {
		t.Errorf("hub.map_file not written: %v", err)
	}
	edge := freeAddr(t)
	edgeCmd := exec.Command(pandoBin, "redirect", "--map", hub+"availability.map", "--pubkey", hubPub, "--listen", edge)
	edgeLog := &buftest.Buffer{}
	edgeCmd.Stderr = edgeLog
	if err := edgeCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { edgeCmd.Process.Kill(); edgeCmd.Wait() }()
	var resp *http.Response
	var err error
	for range 100 {
		if resp, err = noRedirects.Get("http://" + edge + "/pool/new.tar.gz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("edge did not start: %v\n%s", err, edgeLog.String())
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, urls["good"]) {
		t.Errorf("edge over the hub's signed map: %s to %q, want 302 to the good mirror", resp.Status, loc)
	}

	// SIGHUP: the stale mirror's weight goes to 0; no download goes there.
	write(100)
	cfgData, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(cfgData), "name = \"stale\"\nhttp = \""+urls["stale"]+"\"\nweight = 100", "name = \"stale\"\nhttp = \""+urls["stale"]+"\"\nweight = 0", 1)), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if where("index.html")["stale"] == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := where("index.html"); s["stale"] > 0 {
		t.Errorf("after reload with weight 0, the stale mirror still got %d of 60", s["stale"])
	}

	// A broken hub.toml on SIGHUP is refused and the hub keeps serving.
	os.WriteFile(cfg, []byte("[origin]\nurl = 3\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if s := where("pool/new.tar.gz"); s["good"] != 60 {
		t.Errorf("after a refused reload: %v", s)
	}
}

// TestDemo runs "pando demo" as a user would: it prints the network, the
// hub redirects, and Ctrl-C stops it cleanly.
func TestDemo(t *testing.T) {
	cmd := exec.Command(pandoBin, "demo", "--listen", freeAddr(t))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errb := &buftest.Buffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var printed strings.Builder
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(90 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo exited early:\n%s\n%s", printed.String(), errb.String())
			}
			printed.WriteString(l + "\n")
			if strings.Contains(l, "Press Ctrl-C") {
				break wait
			}
		case <-timeout:
			t.Fatalf("demo did not come up:\n%s\n%s", printed.String(), errb.String())
		}
	}
	text := printed.String()
	for _, want := range []string{"de-good", "us-stale", "nl-tampered", "stale [http]", "hash [http] releases/1.0/pando-demo-1.0.iso"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	hub := regexp.MustCompile(`hub +(http://\S+)`).FindStringSubmatch(text)
	if hub == nil {
		t.Fatalf("no hub URL in:\n%s", text)
	}
	resp, err := noRedirects.Get(hub[1] + "releases/1.1/pando-demo-1.1.iso")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("demo hub redirect: %v %v", resp, err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "/releases/1.1/pando-demo-1.1.iso") {
		t.Errorf("Location %q", loc)
	}
	checkDemoAgentReports(t, text, hub[1])
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo did not exit cleanly on Ctrl-C: %v\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("demo did not stop within 20 s of Ctrl-C")
	}
}

// checkDemoAgentReports downloads a file straight from de-good, which the
// demo runs with the mirror agent, and waits for the hub to count it from
// the agent's report, once: the hub's own hash checks of the file are not
// downloads.
func checkDemoAgentReports(t *testing.T, printed, hub string) {
	t.Helper()
	m := regexp.MustCompile(`de-good +(http://\S+)`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no de-good URL in:\n%s", printed)
	}
	const file = "distfiles/hello-1.1.tar.gz"
	fetch(t, "GET", m[1]+file, http.StatusOK)
	var got struct {
		Total int64 `json:"total"`
		Days  []struct {
			ByMirror map[string]int64 `json:"by_mirror"`
		} `json:"days"`
	}
	for deadline := time.Now().Add(45 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(hub + "api/v1/stats?path=" + file)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Total > 0 || time.Now().After(deadline) {
			break
		}
	}
	if got.Total != 1 || len(got.Days) != 1 || got.Days[0].ByMirror["de-good"] != 1 {
		t.Errorf("the hub counted %+v for %s, want the one download from de-good", got, file)
	}
}

// TestHubPrunesHistory: a hub keeping one second of history forgets older
// passes after each pass, and keeps each mirror's latest result.
func TestHubPrunesHistory(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	cfg := goodAndTamperedHub(t, n, "path = \"hub.db\"\nkeep = \"1s\"", "300ms")
	hub, _ := runHubProcess(t, cfg)
	waitPasses(t, hub, 8, &buftest.Buffer{})
	st, err := store.OpenSQLite(t.Context(), filepath.Join(n.dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	passes, err := st.Passes(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// At 300 ms a pass, one second holds about four; eight have run.
	if len(passes) == 0 || len(passes) > 6 {
		t.Errorf("passes kept after 8 with keep = 1s: %d", len(passes))
	}
	latest, err := st.LatestResults(t.Context())
	if err != nil || len(latest) != 2 {
		t.Fatalf("latest results after pruning: %v, %v", latest, err)
	}
	for _, r := range latest {
		if r.Mirror == "tampered" && len(r.Problems) == 0 {
			t.Errorf("the tampered mirror's current problems were pruned")
		}
	}
}

// TestHubStopsWhenDNSCannotBind: a hub whose [dns] address is taken exits 1
// naming the problem, rather than serving without DNS unnoticed.
func TestHubStopsWhenDNSCannotBind(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := filepath.Join(n.dir, "hub.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[origin]\nurl = %q\npubkey = %q\n\n[store]\npath = \"hub.db\"\n\n"+
		"[dns]\nlisten = %q\nname = \"dl.example.org\"\nlist_name = \"_mirrors.example.org\"\n",
		n.url, n.pub, taken.LocalAddr().String())), 0o644)
	r := pando(t, "hub", "--config", cfg, "--listen", freeAddr(t))
	if r.code != 1 || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("hub with a taken DNS address: exit %d, stderr %q; want exit 1 naming the address", r.code, r.stderr)
	}
}

// TestHubFollowsSymlinks: a download through a symlinked directory of the
// origin goes to a mirror holding the file the link leads to, not to the
// fall-back; a looping link still goes to the fall-back.
func TestHubFollowsSymlinks(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	for link, target := range map[string]string{"releases/latest": "1.0", "loop-a": "loop-b", "loop-b": "loop-a"} {
		if err := os.Symlink(target, filepath.Join(n.origin, link)); err != nil {
			t.Fatal(err)
		}
	}
	n.publish(t)
	hub, cmd := runHubProcess(t, goodAndTamperedHub(t, n, `path = "hub.db"`, "1h"))
	var good string
	var m struct {
		Access []struct{ URL string } `json:"access"`
	}
	if err := hubJSON(hub+"api/v1/mirrors/good", &m); err != nil || len(m.Access) != 1 {
		t.Fatalf("mirror good: %+v, %v", m, err)
	}
	good = m.Access[0].URL
	for path, want := range map[string]string{
		"releases/latest/checksums.txt":     good + "releases/1.0/checksums.txt",
		"releases/latest/dup-of-alpha.gz":   good + "releases/1.0/dup-of-alpha.gz",
		"loop-a/x":                          n.url + "loop-a/x",
		"releases/latest/not-published.txt": n.url + "releases/latest/not-published.txt",
	} {
		resp, err := noRedirects.Get(hub + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != want {
			t.Errorf("GET /%s: %s, Location %q; want 302 to %s", path, resp.Status, loc, want)
		}
	}
	resp, err := http.Get(hub + "releases/latest/checksums.txt.meta4")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), good+"releases/1.0/checksums.txt") {
		t.Errorf("Metalink through the link: %s\n%s", resp.Status, body)
	}

	// The hub counted each redirect for the file the link leads to; it
	// stores its counts when it stops.
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the hub to stop", func() bool { _, err := http.Get(hub); return err != nil }, &buftest.Buffer{})
	st, err := store.OpenSQLite(t.Context(), filepath.Join(n.dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Now().UTC().Format(store.StatsDayLayout)
	res, err := st.QueryStats(t.Context(), store.StatsQuery{From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range res.Rows {
		got[r.Path+"@"+r.Mirror] += r.Downloads
	}
	if got["releases/1.0/checksums.txt@good"] != 1 || got["releases/1.0/dup-of-alpha.gz@good"] != 1 {
		t.Errorf("downloads the hub counted: %v; want one each for the files the link led to", got)
	}
}
