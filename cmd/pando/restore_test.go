package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// restoreReport is the part of "pando restore --json" the tests read.
type restoreReport struct {
	Records        int64  `json:"records"`
	Root           string `json:"root"`
	CheckpointFrom string `json:"checkpoint_from"`
	Complete       bool   `json:"complete"`
	Restored       int    `json:"restored"`
	Fetched        int    `json:"files_fetched"`
	Batched        int    `json:"files_batched"`
	Staged         int    `json:"files_staged"`
	Reused         int    `json:"files_reused"`
	Mirrors        []struct {
		Name    string `json:"name"`
		Records *int64 `json:"records"`
		State   string `json:"state"`
		Error   string `json:"error"`
		Served  int    `json:"served"`
		Failed  int    `json:"failed"`
	} `json:"mirrors"`
	Missing []struct {
		Path      string    `json:"path"`
		Record    int64     `json:"record"`
		Published time.Time `json:"published"`
		Tried     []struct{ Mirror, Error string }
	} `json:"missing"`
}

func parseRestore(t *testing.T, out string) restoreReport {
	t.Helper()
	var r restoreReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("restore --json output %q: %v", out, err)
	}
	return r
}

// loggedServer is a "pando serve" whose access log the test reads.
type loggedServer struct {
	url, log string
}

// serveLogged starts "pando serve" on root with an access log, stopped when
// the test ends.
func serveLogged(t *testing.T, root string) loggedServer {
	t.Helper()
	addr := freeAddr(t)
	s := loggedServer{url: "http://" + addr + "/", log: filepath.Join(t.TempDir(), "access.log")}
	cmd := exec.Command(pandoBin, "serve", "--root", root, "--listen", addr, "--access-log", s.log)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	for range 100 {
		resp, err := http.Get(s.url)
		if err == nil {
			resp.Body.Close()
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pando serve on %s did not come up: %s", addr, errb.String())
	return s
}

var requestLine = regexp.MustCompile(`"GET (\S+) HTTP/[0-9.]+" (\d+)`)

// objectGets returns the tree paths outside .pando that GET requests asked
// the server for, from the access log's line skip on.
func (s loggedServer) objectGets(t *testing.T, skip int) []string {
	t.Helper()
	var out []string
	for _, line := range s.lines(t)[skip:] {
		m := requestLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		p, err := url.PathUnescape(strings.TrimPrefix(m[1], "/"))
		if err != nil {
			t.Fatalf("access log line %q: %v", line, err)
		}
		if p != "" && !strings.HasPrefix(p, ".pando/") {
			out = append(out, p)
		}
	}
	return out
}

// settled waits until the access log stops growing (the server logs a
// request when its handler returns, which can be after the client is gone)
// and returns its length in lines.
func (s loggedServer) settled(t *testing.T) int {
	t.Helper()
	n := len(s.lines(t))
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		m := len(s.lines(t))
		if m == n {
			return n
		}
		n = m
	}
	t.Fatalf("access log %s keeps growing", s.log)
	return 0
}

func (s loggedServer) lines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(s.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// snapshot copies a tree, times included, leaving out its local state.
func snapshot(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
	os.RemoveAll(filepath.Join(dst, ".pando", "local"))
}

// diffTrees fails the test unless diff -r finds the trees equal outside
// .pando/local, symlinks compared as links.
func diffTrees(t *testing.T, want, got string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", "--no-dereference", "--exclude=local", want, got).CombinedOutput()
	if err != nil {
		t.Errorf("diff -r %s %s: %v\n%s", want, got, err, out)
	}
}

// nextSecond waits until the clock's second changes, so the next publish
// carries its own publication time.
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
}

// flipEveryFile changes one byte of every file outside .pando below root.
func flipEveryFile(t *testing.T, root string) {
	t.Helper()
	for p, data := range treeFiles(t, root) {
		name := filepath.Join(root, filepath.FromSlash(p))
		if fi, err := os.Lstat(name); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b := []byte(data)
		b[len(b)/2] ^= 0x20
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (n *network) hubTOML(t *testing.T, mirrors ...string) string {
	t.Helper()
	cfg := filepath.Join(n.dir, "hub.toml")
	text := fmt.Sprintf("[origin]\nurl = %q\npubkey = %q\n\n", n.url, n.pub) + strings.Join(mirrors, "\n")
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRestoreRebuildsOrigin is the story of the issue: a network of mirrors,
// one stale, one tampered, one missing files, one forked, one signed by
// another key and one down; the origin's tree is lost. pando restore
// rebuilds it bit for bit from good bytes only; then the origin publishes
// again and every honest mirror follows without an alarm.
func TestRestoreRebuildsOrigin(t *testing.T) {
	n := newNetwork(t, sampleFiles) // publish 1: 6 records
	fork := filepath.Join(n.dir, "fork")
	snapshot(t, n.origin, fork)

	nextSecond()
	os.Symlink("1.0", filepath.Join(n.origin, "releases", "latest"))
	writeFiles(t, n.origin, map[string]string{"pool/c/gamma_3.0.tar.gz": "gamma"})
	n.publish(t) // publish 2: 8 records
	stale := filepath.Join(n.dir, "stale")
	if r := n.sync(t, n.url, stale); r.code != 0 {
		t.Fatalf("sync stale: %s", r.stderr)
	}

	nextSecond()
	randomFile(t, n.origin, "pool/d/delta.bin", 300<<10)
	writeFiles(t, n.origin, map[string]string{"index.html": "<h1>repo v3</h1>\n", "pool/e/epsilon.txt": "epsilon\n"})
	os.Remove(filepath.Join(n.origin, "releases", "1.0", "checksums.txt"))
	n.publish(t) // publish 3: 12 records
	mirrors := map[string]string{}
	for _, name := range []string{"good1", "good2", "tampered", "holes"} {
		mirrors[name] = filepath.Join(n.dir, name)
		if r := n.sync(t, n.url, mirrors[name]); r.code != 0 {
			t.Fatalf("sync %s: %s", name, r.stderr)
		}
	}
	mirrors["stale"] = stale
	flipEveryFile(t, mirrors["tampered"])
	os.Remove(filepath.Join(mirrors["holes"], "pool", "d", "delta.bin"))
	os.Remove(filepath.Join(mirrors["holes"], "index.html"))

	// The fork: the origin's key signed another history after publish 1.
	writeFiles(t, fork, map[string]string{"pool/evil.bin": "another history"})
	mustPando(t, "publish", "--root", fork, "--key", n.key, "--quiet")
	// An impostor re-signs a good copy with a key of the same name.
	badsig := filepath.Join(n.dir, "badsig")
	snapshot(t, mirrors["good1"], badsig)
	os.RemoveAll(filepath.Join(badsig, ".pando"))
	impostor := filepath.Join(n.dir, "impostor")
	mustPando(t, "keygen", "--out", impostor, "repo.example.org")
	mustPando(t, "publish", "--root", badsig, "--key", impostor+".key", "--quiet")

	want := filepath.Join(n.dir, "want")
	snapshot(t, n.origin, want)
	if err := os.RemoveAll(n.origin); err != nil {
		t.Fatal(err)
	}

	urls := map[string]string{}
	for name, root := range mirrors {
		urls[name] = startServe(t, root)
	}
	cfg := n.hubTOML(t,
		mirrorTOML("good1", "http", urls["good1"]),
		mirrorTOML("tampered", "http", urls["tampered"]),
		mirrorTOML("holes", "http", urls["holes"]),
		mirrorTOML("stale", "http", urls["stale"]),
		mirrorTOML("fork", "http", startServe(t, fork)),
		mirrorTOML("badsig", "http", startServe(t, badsig)),
		mirrorTOML("down", "http", "http://"+freeAddr(t)+"/"),
	)
	restored := filepath.Join(n.dir, "restored")
	r := pando(t, "restore", "--config", cfg, "--from", urls["good2"], "--root", restored, "--json", "--quiet")
	if r.code != 0 {
		t.Fatalf("restore: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	rep := parseRestore(t, r.stdout)
	if !rep.Complete || rep.Records != 12 || len(rep.Missing) != 0 || rep.Restored != 9 {
		t.Errorf("report: complete %v, %d records, %d restored, missing %v; want complete, 12, 9, none",
			rep.Complete, rep.Records, rep.Restored, rep.Missing)
	}
	states := map[string]string{}
	served := map[string]int{}
	for _, m := range rep.Mirrors {
		states[m.Name], served[m.Name] = m.State, m.Served
		if m.Name == "tampered" && (m.Served != 0 || m.Failed == 0) {
			t.Errorf("tampered mirror served %d objects and failed %d; want 0 and some", m.Served, m.Failed)
		}
	}
	wantStates := map[string]string{
		"good1": "used", urls["good2"]: "used", "tampered": "used", "holes": "used",
		"stale": "stale", "fork": "fork", "badsig": "bad-signature", "down": "unreachable",
	}
	for name, st := range wantStates {
		if states[name] != st {
			t.Errorf("mirror %s: state %q, want %q", name, states[name], st)
		}
	}
	for _, name := range []string{"good1", urls["good2"]} {
		if served[name] == 0 {
			t.Errorf("mirror %s served no objects: the load was not spread (%v)", name, served)
		}
	}

	// Bit for bit: files, symlinks, journal, tiles and the signed checkpoint.
	diffTrees(t, want, restored)
	if !bytes.Equal(readFile(t, want, ".pando/checkpoint"), readFile(t, restored, ".pando/checkpoint")) {
		t.Error("restored checkpoint differs from the origin's last one")
	}
	n.verify(t, restored)

	// The origin carries on: nothing to append, then one new file.
	pub := mustPando(t, "publish", "--root", restored, "--key", n.key, "--json", "--quiet")
	if !strings.Contains(pub.stdout, `"records_after":12`) || !strings.Contains(pub.stdout, `"records_before":12`) {
		t.Errorf("publish right after restore appended records: %s", pub.stdout)
	}
	writeFiles(t, restored, map[string]string{"pool/f/phi.txt": "phi\n"})
	mustPando(t, "publish", "--root", restored, "--key", n.key, "--quiet")
	newURL := startServe(t, restored)
	for name, root := range mirrors {
		r := n.sync(t, newURL, root, "--json")
		if r.code != 0 {
			t.Errorf("mirror %s after restore: exit %d: %s", name, r.code, r.stderr)
			continue
		}
		var sum struct {
			Before  int64 `json:"records_before"`
			After   int64 `json:"records_after"`
			Fetched int   `json:"files_fetched"`
		}
		json.Unmarshal([]byte(r.stdout), &sum)
		if sum.After != 13 || (name != "stale" && (sum.Before != 12 || sum.Fetched != 1)) {
			t.Errorf("mirror %s after restore: %s; want 12 -> 13 records, 1 file fetched", name, r.stdout)
		}
	}
	n.verify(t, mirrors["good1"])
	n.verify(t, mirrors["stale"])
	// The forked mirror, and only it, is refused by the restored origin.
	if r := n.sync(t, newURL, fork); r.code != 1 {
		t.Errorf("forked mirror against the restored origin: exit %d, %s; want a refusal", r.code, r.stderr)
	}
}

// TestRestoreReportsMissingObject: one object that no mirror holds with the
// right bytes is reported with its record and publication time, every other
// object is restored, no checkpoint is written, and a rerun once a mirror
// has the bytes completes, fetching only that object.
func TestRestoreReportsMissingObject(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	a, b := filepath.Join(n.dir, "a"), filepath.Join(n.dir, "b")
	for _, m := range []string{a, b} {
		if r := n.sync(t, n.url, m); r.code != 0 {
			t.Fatalf("sync: %s", r.stderr)
		}
	}
	want := filepath.Join(n.dir, "want")
	snapshot(t, n.origin, want)
	os.RemoveAll(n.origin)
	const lost = "pool/b/beta copy%.txt" // record 2: publish sorts by path
	os.Remove(filepath.Join(a, filepath.FromSlash(lost)))
	writeFiles(t, b, map[string]string{lost: "spaces and percenT\n"})
	sa, sb := serveLogged(t, a), serveLogged(t, b)

	restored := filepath.Join(n.dir, "restored")
	args := []string{"restore", "--from", sa.url, "--from", sb.url, "--pubkey", n.pub, "--root", restored, "--json", "--quiet"}
	r := pando(t, args...)
	if r.code != 1 {
		t.Fatalf("restore: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := parseRestore(t, r.stdout)
	published := time.Unix(journalTime(t, want, 2), 0)
	if len(rep.Missing) != 1 || rep.Missing[0].Path != lost || rep.Missing[0].Record != 2 ||
		!rep.Missing[0].Published.Equal(published) || len(rep.Missing[0].Tried) != 2 {
		t.Fatalf("missing = %+v; want %s, record 2, published %v, tried on both mirrors", rep.Missing, lost, published)
	}
	if rep.Complete || rep.Restored != 5 {
		t.Errorf("report: complete %v, %d restored; want incomplete, 5", rep.Complete, rep.Restored)
	}
	if _, err := os.Stat(filepath.Join(restored, ".pando", "checkpoint")); !os.IsNotExist(err) {
		t.Errorf("an incomplete restore wrote a checkpoint (stat: %v)", err)
	}
	got := treeFiles(t, restored)
	for p, data := range treeFiles(t, want) {
		if p != lost && got[p] != data {
			t.Errorf("%s: not restored", p)
		}
	}
	if _, ok := got[lost]; ok {
		t.Errorf("%s: unverified bytes written", lost)
	}

	// A mirror gets the right bytes back; the rerun fetches only them.
	os.WriteFile(filepath.Join(a, filepath.FromSlash(lost)), readFile(t, want, lost), 0o644)
	skipA, skipB := sa.settled(t), sb.settled(t)
	r = pando(t, args...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	sa.settled(t)
	sb.settled(t)
	gets := append(sa.objectGets(t, skipA), sb.objectGets(t, skipB)...)
	slices.Sort(gets)
	if len(slices.Compact(gets)) != 1 || gets[0] != lost {
		t.Errorf("rerun fetched %q; want only %q", gets, lost)
	}
	n.verify(t, restored)
	diffTrees(t, want, restored)
}

// journalTime returns the publication time of record i of root's journal.
func journalTime(t *testing.T, root string, i int) int64 {
	t.Helper()
	lines := strings.Split(string(readFile(t, root, ".pando/journal")), "\n")
	var sec int64
	if _, err := fmt.Sscan(strings.Fields(lines[i])[1], &sec); err != nil {
		t.Fatal(err)
	}
	return sec
}

// TestRestoreResumesAfterKill kills a slow restore midway; the rerun
// completes without downloading again any object the first run verified.
func TestRestoreResumesAfterKill(t *testing.T) {
	n := newNetwork(t, nil)
	const files = 24
	for i := range files {
		randomFile(t, n.origin, fmt.Sprintf("pool/%02d.bin", i), 96<<10)
	}
	n.publish(t)
	a, b := filepath.Join(n.dir, "a"), filepath.Join(n.dir, "b")
	for _, m := range []string{a, b} {
		if r := n.sync(t, n.url, m); r.code != 0 {
			t.Fatalf("sync: %s", r.stderr)
		}
	}
	want := filepath.Join(n.dir, "want")
	snapshot(t, n.origin, want)
	os.RemoveAll(n.origin)
	sa, sb := serveLogged(t, a), serveLogged(t, b)
	restored := filepath.Join(n.dir, "restored")
	args := []string{"restore", "--from", sa.url, "--from", sb.url, "--pubkey", n.pub, "--root", restored, "--quiet"}

	slow := exec.Command(pandoBin, append(args, "--jobs", "2", "--bwlimit", "400k")...)
	if err := slow.Start(); err != nil {
		t.Fatal(err)
	}
	waitStaged(t, restored, 6)
	slow.Process.Kill()
	slow.Wait()
	staged := stagedBlobs(t, restored) // what the killed run verified, for good
	if len(staged) == 0 || len(staged) == files {
		t.Fatalf("killed run staged %d of %d objects; want some", len(staged), files)
	}

	skipA, skipB := sa.settled(t), sb.settled(t)
	r := pando(t, append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := parseRestore(t, r.stdout)
	if rep.Staged != len(staged) || rep.Fetched != files-len(staged) {
		t.Errorf("rerun: %d staged, %d fetched; want %d and %d", rep.Staged, rep.Fetched, len(staged), files-len(staged))
	}
	sa.settled(t)
	sb.settled(t)
	gets := append(sa.objectGets(t, skipA), sb.objectGets(t, skipB)...)
	if len(gets) != files-len(staged) {
		t.Errorf("rerun made %d object requests, want %d", len(gets), files-len(staged))
	}
	for _, p := range gets {
		if staged[sha256Hex(readFile(t, want, p))] {
			t.Errorf("rerun downloaded %s again, which the killed run had verified", p)
		}
	}
	n.verify(t, restored)
	diffTrees(t, want, restored)
}

// waitStaged waits until the restore into root has verified at least k
// objects.
func waitStaged(t *testing.T, root string, k int) map[string]bool {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if s := stagedBlobs(t, root); len(s) >= k {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("restore staged fewer than %d objects in a minute", k)
	return nil
}

var blobName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// stagedBlobs returns the hashes of the verified objects in root's staging
// area.
func stagedBlobs(t *testing.T, root string) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, ".pando", "local", "staging"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		if blobName.MatchString(e.Name()) {
			out[e.Name()] = true
		}
	}
	return out
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestRestoreInBatches: a restore of many small files asks the mirrors
// running pando serve for them in batches, one per mirror per run, and a
// plain static server for each alone; the files a tampered mirror's batch
// delivers with wrong bytes are refused and fetched alone from another, and
// the tree comes back bit for bit.
func TestRestoreInBatches(t *testing.T) {
	files := map[string]string{}
	for i := range 120 {
		files[fmt.Sprintf("pool/%d/small-%03d.txt", i%5, i)] = strings.Repeat(fmt.Sprint(i), 40+i)
	}
	n := newNetwork(t, files)
	good, tampered, plain := filepath.Join(n.dir, "good"), filepath.Join(n.dir, "tampered"), filepath.Join(n.dir, "plain")
	for _, root := range []string{good, tampered, plain} {
		if r := n.sync(t, n.url, root); r.code != 0 {
			t.Fatalf("sync %s: %s", root, r.stderr)
		}
	}
	flipEveryFile(t, tampered)
	want := filepath.Join(n.dir, "want")
	snapshot(t, n.origin, want)
	if err := os.RemoveAll(n.origin); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	static := &http.Server{Handler: http.FileServer(http.Dir(plain))}
	go static.Serve(ln)
	t.Cleanup(func() { static.Close() })

	goodURL := startServe(t, good)
	cfg := n.hubTOML(t,
		mirrorTOML("tampered", "http", startServe(t, tampered)),
		mirrorTOML("plain", "http", "http://"+ln.Addr().String()+"/"))
	restored := filepath.Join(n.dir, "restored")
	r := pando(t, "restore", "--config", cfg, "--from", goodURL, "--root", restored, "--json", "--quiet")
	if r.code != 0 {
		t.Fatalf("restore: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	rep := parseRestore(t, r.stdout)
	if !rep.Complete || rep.Fetched != 120 || len(rep.Missing) != 0 {
		t.Errorf("report: complete %v, %d fetched, missing %v; want complete, 120, none", rep.Complete, rep.Fetched, rep.Missing)
	}
	// Each object's list starts at one of the three mirrors in turn: the
	// good one's third comes in batches, the plain one's alone, the
	// tampered one's is refused and fetched alone from the next.
	if rep.Batched < 20 || rep.Batched > 60 {
		t.Errorf("%d of 120 files came in batches; want the good mirror's share, about a third", rep.Batched)
	}
	served := map[string]int{}
	for _, m := range rep.Mirrors {
		served[m.Name] = m.Served
		if m.Name == "tampered" && (m.Served != 0 || m.Failed == 0) {
			t.Errorf("tampered mirror: served %d, failed %d; want none served, some failed", m.Served, m.Failed)
		}
	}
	if served[goodURL] < rep.Batched || served["plain"] < 20 || served[goodURL]+served["plain"] != 120 {
		t.Errorf("served: %v; want all 120 from the good and the plain mirror, at least a third each", served)
	}
	diffTrees(t, want, restored)
	n.verify(t, restored)
}
