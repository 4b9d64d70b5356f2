package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// rsyncDaemon starts the system rsync as a daemon on loopback serving dir as
// module "repo" and returns its rsync:// URL.
func rsyncDaemon(t *testing.T, dir string) string {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(t.TempDir(), "rsyncd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("use chroot = no\nlog file = /dev/null\n[repo]\npath = %s\nread only = yes\n", dir)), 0o644)
	cmd := exec.Command("rsync", "--daemon", "--no-detach", "--config="+conf, "--address=127.0.0.1", "--port="+port)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rsync daemon (is rsync installed? make test installs it): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "rsync://" + addr + "/repo/"
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("rsync daemon did not start: %s", errb.String())
	return ""
}

// ageTree sets every file's modification time in the past, so that rsync's
// size-and-mtime check sees the next same-size rewrite.
func ageTree(t *testing.T, root string, age time.Duration) {
	t.Helper()
	old := time.Now().Add(-age)
	filepath.Walk(root, func(name string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			os.Chtimes(name, old, old)
		}
		return nil
	})
}

// TestSyncFromRsyncDaemon syncs a signed tree from a real rsync daemon,
// then a change, then refuses a tampered file; and copies an unsigned tree.
func TestSyncFromRsyncDaemon(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	ageTree(t, n.origin, time.Hour)
	n.publish(t)
	up := rsyncDaemon(t, n.origin)
	m := filepath.Join(n.dir, "mirror")

	if r := n.sync(t, up, m, "--bwlimit", "10M"); r.code != 0 {
		t.Fatalf("sync from %s: %s", up, r.stderr)
	}
	n.verify(t, m)
	sameTree(t, n.origin, m)

	writeFiles(t, n.origin, map[string]string{"pool/new.txt": "new", "index.html": "<h1>changed</h1>\n"})
	os.Remove(filepath.Join(n.origin, "pool", "a", "alpha_1.0.tar.gz"))
	n.publish(t)
	if r := n.sync(t, up, m); r.code != 0 {
		t.Fatalf("re-sync: %s", r.stderr)
	}
	n.verify(t, m)
	sameTree(t, n.origin, m)

	// A file changed on the rsync origin without a re-publish is refused.
	good := treeFiles(t, m)
	writeFiles(t, n.origin, map[string]string{"pool/new.txt": "NEW"})
	writeFiles(t, n.origin, map[string]string{"pool/other.txt": "x"})
	n.publish(t)
	writeFiles(t, n.origin, map[string]string{"pool/other.txt": "y"}) // tampered after signing
	r := n.sync(t, up, m)
	if r.code != 1 || !bytes.Contains([]byte(r.stderr), []byte("pool/other.txt")) {
		t.Errorf("tampered rsync upstream: exit %d, stderr %q; want exit 1 naming pool/other.txt", r.code, r.stderr)
	}
	n.verify(t, m)
	for p, data := range good {
		if got := treeFiles(t, m)[p]; got != data {
			t.Errorf("%s changed after a refused sync", p)
		}
	}

	// An unsigned tree (plain rsync mirror) is still copied, under the lock.
	plain := filepath.Join(n.dir, "plain")
	writeFiles(t, plain, map[string]string{"a.txt": "a", "dir/b.txt": "b"})
	plainUp := rsyncDaemon(t, plain)
	pm := filepath.Join(n.dir, "plain-mirror")
	if r := n.sync(t, plainUp, pm); r.code != 0 {
		t.Fatalf("sync unsigned: %s", r.stderr)
	}
	sameTree(t, plain, pm)
}
