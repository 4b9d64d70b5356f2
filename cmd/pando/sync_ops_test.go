package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	mathrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
	"github.com/pando-mirror/pando/internal/safefile/casetest"
)

// TestSyncLock runs two syncs of one mirror at once: the second exits at
// once saying another sync holds the lock, and with --wait it queues.
func TestSyncLock(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	randomFile(t, n.origin, "big.bin", 3<<20)
	n.publish(t)
	m := filepath.Join(n.dir, "mirror")

	first := startSync(t, n, m, "--bwlimit", "1M") // holds the lock about 3 s
	lock := filepath.Join(m, ".pando", "local", "lock")
	waitFor(t, lock+" to appear", func() bool { _, err := os.Stat(lock); return err == nil }, &first.stderr)
	time.Sleep(200 * time.Millisecond)

	r := n.sync(t, n.url, m)
	if r.code != 1 || !strings.Contains(r.stderr, "another sync holds the lock") {
		t.Errorf("concurrent sync: exit %d, stderr %q; want exit 1 naming the lock", r.code, r.stderr)
	}
	if firstDone(first) {
		t.Fatal("the first sync finished before the second tried: the test proves nothing")
	}

	r = n.sync(t, n.url, m, "--wait")
	if r.code != 0 {
		t.Errorf("sync --wait: exit %d, stderr %s", r.code, r.stderr)
	}
	if !firstDone(first) {
		t.Errorf("sync --wait returned while the first sync still ran")
	}
	if err := first.wait(); err != nil {
		t.Errorf("first sync: %v", err)
	}
	n.verify(t, m)
}

// TestSyncRefusesCaseInsensitiveTree: a mirror sync and a restore into a
// tree whose file system takes a name and its upper-case form for one file
// (a hard link from the lock file's upper-case name stands in for one) exit
// 1 saying so, and write nothing into it.
func TestSyncRefusesCaseInsensitiveTree(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	for _, cmd := range []string{"sync", "restore"} {
		t.Run(cmd, func(t *testing.T) {
			root := filepath.Join(n.dir, "folding-"+cmd)
			casetest.Fold(t, root)
			var r result
			if cmd == "sync" {
				r = n.sync(t, n.url, root)
			} else {
				r = pando(t, "restore", "--from", n.url, "--pubkey", n.pub, "--root", root, "--quiet")
			}
			if r.code != 1 || !strings.Contains(r.stderr, "does not tell upper from lower case") {
				t.Errorf("exit %d, stderr %q; want exit 1 naming the file system's case folding", r.code, r.stderr)
			}
			var names []string
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					names = append(names, strings.TrimPrefix(p, root+"/"))
				}
				return nil
			})
			if want := []string{".pando/local/LOCK", ".pando/local/lock"}; !slices.Equal(names, want) {
				t.Errorf("the tree holds %v, want only %v", names, want)
			}
		})
	}
}

// TestSyncBandwidthCap transfers a few tens of MB under --bwlimit and checks
// the average rate stayed within 10% of the cap.
func TestSyncBandwidthCap(t *testing.T) {
	n := newNetwork(t, map[string]string{"readme": "x"})
	const size, capBytes = 24 << 20, 8_000_000
	for i := range 4 {
		randomFile(t, n.origin, fmt.Sprintf("iso/part%d.bin", i), size/4)
	}
	n.publish(t)
	m := filepath.Join(n.dir, "mirror")
	start := time.Now()
	if r := n.sync(t, n.url, m, "--bwlimit", "64Mbit", "--jobs", "4"); r.code != 0 {
		t.Fatalf("sync: %s", r.stderr)
	}
	rate := float64(size) / time.Since(start).Seconds()
	t.Logf("transferred %d bytes at %.0f bytes/s under a cap of %d", size, rate, int(capBytes))
	if rate > capBytes*1.10 {
		t.Errorf("average rate %.0f B/s exceeds the cap of %d B/s by more than 10%%", rate, capBytes)
	}
	n.verify(t, m)
}

// TestSyncSurvivesSIGKILL kills syncs at random moments, in a bounded loop
// over several origin versions; after every kill the mirror must verify,
// and a final run must complete.
func TestSyncSurvivesSIGKILL(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	m := filepath.Join(n.dir, "mirror")
	rng := mathrand.New(mathrand.NewPCG(1, uint64(time.Now().UnixNano())))
	names := make([]string, 60)
	for i := range names {
		names[i] = fmt.Sprintf("pool/%02d/pkg-%d.bin", i%7, i)
	}
	const rounds = 10
	kills := 0
	for round := range rounds {
		// A new origin version: add, replace in place and remove files.
		for _, name := range names {
			switch rng.IntN(4) {
			case 0, 1:
				randomFile(t, n.origin, name, 1+rng.IntN(64<<10))
			case 2:
				os.Remove(filepath.Join(n.origin, filepath.FromSlash(name)))
			}
		}
		n.publish(t)
		for attempt := range 3 {
			s := startSync(t, n, m, "--bwlimit", "4M", "--jobs", "4")
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			s.cmd.Process.Signal(syscall.SIGKILL)
			if err := s.wait(); err != nil && strings.Contains(err.Error(), "killed") {
				kills++
			}
			if r := pando(t, "verify", "--root", m, "--pubkey", n.pub, "--quiet"); r.code != 0 && !noLogYet(r) {
				t.Fatalf("round %d attempt %d: verify after SIGKILL failed:\n%s%s", round, attempt, r.stdout, r.stderr)
			}
		}
	}
	if kills == 0 {
		t.Fatal("no sync was ever killed mid-run: the test proves nothing")
	}
	t.Logf("%d syncs killed mid-run", kills)
	if r := n.sync(t, n.url, m); r.code != 0 {
		t.Fatalf("final sync: %s", r.stderr)
	}
	n.verify(t, m)
	sameTree(t, n.origin, m)
}

// TestLargeSyncSurvivesSIGKILL: a sync of many files places those of new
// paths as soon as each is verified (docs/MIRRORING.md, "Direct placement"),
// and stages the rest. Killed at random moments, over a first sync and
// then a version that replaces files in place and adds new ones, the
// mirror must verify after every kill, a run after a kill must keep the
// files placed before it rather than fetch them again, and the last run
// must complete.
func TestLargeSyncSurvivesSIGKILL(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	m := filepath.Join(n.dir, "mirror")
	rng := mathrand.New(mathrand.NewPCG(2, uint64(time.Now().UnixNano())))
	const files = 800 // over the 512 installs from which a sync places files directly
	name := func(i int) string { return fmt.Sprintf("many/%02d/f-%d.bin", i%13, i) }
	for i := range files {
		randomFile(t, n.origin, name(i), 256+rng.IntN(2048))
	}
	n.publish(t)
	kills := 0
	for round := range 2 {
		if round == 1 { // replace half in place, add as many new paths
			for i := range files / 2 {
				randomFile(t, n.origin, name(2*i), 256+rng.IntN(2048))
				randomFile(t, n.origin, name(files+i), 256+rng.IntN(2048))
			}
			n.publish(t)
		}
		for attempt := range 4 {
			s := startSync(t, n, m, "--bwlimit", "512K", "--jobs", "8")
			time.Sleep(time.Duration(150+rng.IntN(600)) * time.Millisecond)
			s.cmd.Process.Signal(syscall.SIGKILL)
			if err := s.wait(); err != nil && strings.Contains(err.Error(), "killed") {
				kills++
			}
			if r := pando(t, "verify", "--root", m, "--pubkey", n.pub, "--quiet"); r.code != 0 && !noLogYet(r) {
				t.Fatalf("round %d attempt %d: verify after SIGKILL failed:\n%s%s", round, attempt, r.stdout, r.stderr)
			}
		}
		// What the killed runs placed stays: the next run fetches at most
		// the rest.
		placed := 0
		for p := range treeFiles(t, m) {
			if strings.HasPrefix(p, "many/") {
				placed++
			}
		}
		r := n.sync(t, n.url, m, "--json")
		if r.code != 0 {
			t.Fatalf("round %d: sync after the kills: %s", round, r.stderr)
		}
		var res struct {
			Fetched int `json:"files_fetched"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("round %d: sync --json: %v in %q", round, err, r.stdout)
		}
		total := len(treeFiles(t, n.origin))
		t.Logf("round %d: %d paths in place after the kills, %d of %d files fetched after", round, placed, res.Fetched, total)
		if round == 0 && res.Fetched > total-placed {
			t.Errorf("round 0: the run after the kills fetched %d files with %d of %d in place: it fetched placed files again", res.Fetched, placed, total)
		}
		n.verify(t, m)
		sameTree(t, n.origin, m)
	}
	if kills == 0 {
		t.Fatal("no sync was ever killed mid-run: the test proves nothing")
	}
}

// TestLargeSyncOverStrayFiles: files the mirror's log does not name, left
// where a first sync places its files (a copy made by hand, an earlier
// tool), are replaced by the signed bytes, not kept and not an error.
func TestLargeSyncOverStrayFiles(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	m := filepath.Join(n.dir, "mirror")
	const files = 600 // enough for the sync to place files directly
	for i := range files {
		p := fmt.Sprintf("many/%02d/f-%d.bin", i%9, i)
		randomFile(t, n.origin, p, 300+i)
		if i%3 == 0 {
			randomFile(t, m, p, 300+i) // same size, other bytes
		}
	}
	n.publish(t)
	if r := n.sync(t, n.url, m); r.code != 0 {
		t.Fatalf("sync: %s", r.stderr)
	}
	n.verify(t, m)
	sameTree(t, n.origin, m)
}

// noLogYet reports a verify of a mirror killed before its first checkpoint.
func noLogYet(r result) bool { return strings.Contains(r.stderr, "no signed log") }

// running is a sync started in the background.
type running struct {
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	stderr buftest.Buffer // written by the running command
}

func startSync(t *testing.T, n *network, root string, extra ...string) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	args := append([]string{"mirror", "sync", "--upstream", n.url, "--root", root, "--pubkey", n.pub, "--quiet"}, extra...)
	s := &running{cmd: exec.CommandContext(ctx, pandoBin, args...), done: make(chan struct{})}
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); cancel(); close(s.done) }()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done })
	return s
}

func (s *running) wait() error {
	<-s.done
	if s.err != nil {
		return fmt.Errorf("%w: %s", s.err, s.stderr.String())
	}
	return nil
}

func firstDone(s *running) bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
