package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// network is an origin with a key, served over HTTP.
type network struct {
	dir, origin, key, pub, url string
}

func newNetwork(t *testing.T, files map[string]string) *network {
	t.Helper()
	dir := t.TempDir()
	n := &network{dir: dir, origin: filepath.Join(dir, "origin")}
	n.key, n.pub = keys(t, dir, "repo.example.org")
	writeFiles(t, n.origin, files)
	mustPando(t, "publish", "--root", n.origin, "--key", n.key, "--quiet")
	n.url = startServe(t, n.origin)
	return n
}

func (n *network) publish(t *testing.T) {
	t.Helper()
	mustPando(t, "publish", "--root", n.origin, "--key", n.key, "--quiet")
}

func (n *network) sync(t *testing.T, upstream, root string, extra ...string) result {
	t.Helper()
	args := append([]string{"mirror", "sync", "--upstream", upstream, "--root", root, "--pubkey", n.pub, "--quiet"}, extra...)
	return pando(t, args...)
}

func (n *network) verify(t *testing.T, root string) {
	t.Helper()
	mustPando(t, "verify", "--root", root, "--pubkey", n.pub, "--quiet")
}

var sampleFiles = map[string]string{
	"index.html":                   "<h1>repo</h1>\n",
	"pool/a/alpha_1.0.tar.gz":      strings.Repeat("alpha", 1000),
	"pool/b/beta_2.0.tar.gz":       strings.Repeat("beta", 3000),
	"pool/b/beta copy%.txt":        "spaces and percent\n",
	"releases/1.0/checksums.txt":   "abc  alpha_1.0.tar.gz\n",
	"releases/1.0/dup-of-alpha.gz": strings.Repeat("alpha", 1000),
}

// TestTieredSync is the story of the issue: origin -> mirror A -> mirror B,
// B verified, then every kind of change on the origin converges on both.
func TestTieredSync(t *testing.T) {
	n := newNetwork(t, sampleFiles)
	os.Symlink("1.0", filepath.Join(n.origin, "releases", "latest"))
	n.publish(t)
	a, b := filepath.Join(n.dir, "a"), filepath.Join(n.dir, "b")

	if r := n.sync(t, n.url, a, "--json"); r.code != 0 {
		t.Fatalf("sync A: %s", r.stderr)
	} else {
		var sum struct {
			RecordsBefore int64 `json:"records_before"`
			RecordsAfter  int64 `json:"records_after"`
			Fetched       int   `json:"files_fetched"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
			t.Fatalf("--json output %q: %v", r.stdout, err)
		}
		if sum.RecordsBefore != 0 || sum.RecordsAfter != 7 || sum.Fetched != 5 {
			t.Errorf("summary = %+v, want 0 -> 7 records and 5 distinct files fetched", sum)
		}
	}
	aURL := startServe(t, a)
	if r := n.sync(t, aURL, b); r.code != 0 {
		t.Fatalf("sync B from A: %s", r.stderr)
	}
	n.verify(t, b)
	sameTree(t, n.origin, b)

	// Add, replace, remove, rename, and turn a file into a directory.
	writeFiles(t, n.origin, map[string]string{
		"pool/c/gamma_3.0.tar.gz": "gamma",
		"index.html":              "<h1>repo v2</h1>\n",
	})
	os.Remove(filepath.Join(n.origin, "releases", "1.0", "checksums.txt"))
	os.Rename(filepath.Join(n.origin, "pool", "b", "beta_2.0.tar.gz"), filepath.Join(n.origin, "pool", "beta-renamed.tar.gz"))
	os.Remove(filepath.Join(n.origin, "pool", "a", "alpha_1.0.tar.gz"))
	writeFiles(t, n.origin, map[string]string{"pool/a/alpha_1.0.tar.gz/inner": "now a directory"})
	n.publish(t)

	if r := n.sync(t, n.url, a, "--json"); r.code != 0 {
		t.Fatalf("re-sync A: %s", r.stderr)
	} else if !strings.Contains(r.stdout, `"files_reused":1`) {
		t.Errorf("renamed file should be reused from local bytes, not fetched: %s", r.stdout)
	}
	if r := n.sync(t, aURL, b); r.code != 0 {
		t.Fatalf("re-sync B: %s", r.stderr)
	}
	n.verify(t, a)
	n.verify(t, b)
	sameTree(t, n.origin, a)
	sameTree(t, n.origin, b)

	if r := n.sync(t, aURL, b); r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("third sync: code %d, stdout %q; want up to date", r.code, r.stdout)
	}
}

// TestSyncRefusesTampering breaks the upstream in each way the issue names;
// each sync must exit 1 naming the cause and leave the mirror serving its
// previous good state.
func TestSyncRefusesTampering(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, n *network)
		want   string
	}{
		{"changed byte without re-publish", func(t *testing.T, n *network) {
			name := filepath.Join(n.origin, "pool", "c", "new.bin")
			data, _ := os.ReadFile(name)
			data[3] ^= 1
			os.WriteFile(name, data, 0o644)
		}, "pool/c/new.bin: " + "http://"},
		{"old checkpoint served again", func(t *testing.T, n *network) {
			if r := n.sync(t, n.url, filepath.Join(n.dir, "mirror")); r.code != 0 {
				t.Fatalf("sync to the new state: %s", r.stderr)
			}
			os.WriteFile(filepath.Join(n.origin, ".pando", "checkpoint"), readFile(t, n.dir, "old-checkpoint"), 0o644)
		}, "rollback"},
		{"checkpoint signed by another key", func(t *testing.T, n *network) {
			// An impostor with a key of the same name re-signs the tree.
			impostor := filepath.Join(n.dir, "impostor")
			mustPando(t, "keygen", "--out", impostor, "repo.example.org")
			os.RemoveAll(filepath.Join(n.origin, ".pando"))
			mustPando(t, "publish", "--root", n.origin, "--key", impostor+".key", "--quiet")
		}, "not signed by the origin's key repo.example.org"},
		{"edited journal line", func(t *testing.T, n *network) {
			name := filepath.Join(n.origin, ".pando", "journal")
			data, _ := os.ReadFile(name)
			data = []byte(strings.Replace(string(data), "pool/c/new.bin", "pool/c/evil.bin", 1))
			os.WriteFile(name, data, 0o644)
		}, "do not reproduce the signed root"},
		{"file missing upstream", func(t *testing.T, n *network) {
			os.Remove(filepath.Join(n.origin, "pool", "c", "new.bin"))
		}, "404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newNetwork(t, sampleFiles)
			m := filepath.Join(n.dir, "mirror")
			if r := n.sync(t, n.url, m); r.code != 0 {
				t.Fatalf("first sync: %s", r.stderr)
			}
			os.WriteFile(filepath.Join(n.dir, "old-checkpoint"), readFile(t, n.origin, ".pando/checkpoint"), 0o644)
			randomFile(t, n.origin, "pool/c/new.bin", 4096)
			for i := range 40 { // enough small files to be fetched in batches
				randomFile(t, n.origin, fmt.Sprintf("pool/c/more-%02d.txt", i), 100)
			}
			n.publish(t)
			tc.break_(t, n)
			before := treeFiles(t, m)

			r := n.sync(t, n.url, m)
			if r.code != 1 {
				t.Fatalf("sync exit %d, want 1; stderr: %s", r.code, r.stderr)
			}
			t.Logf("refused: %s", strings.TrimSpace(r.stderr))
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("sync error %q does not name the cause %q", r.stderr, tc.want)
			}
			n.verify(t, m)
			after := treeFiles(t, m)
			if len(after) != len(before) {
				t.Errorf("mirror changed: %d files before, %d after", len(before), len(after))
			}
			for p, data := range before {
				if after[p] != data {
					t.Errorf("%s changed after a refused sync", p)
				}
			}
		})
	}
}

func readFile(t *testing.T, dir, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSyncInBatches: from pando serve, the small files of a large sync come
// in batch answers and the large ones alone; from a server that does not
// answer batches (a plain static server), every file comes alone. Both
// mirrors verify.
func TestSyncInBatches(t *testing.T) {
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("pool/%d/small-%03d.txt", i%7, i)] = strings.Repeat(fmt.Sprint(i), 50+i)
	}
	n := newNetwork(t, files)
	for i := range 3 {
		randomFile(t, n.origin, fmt.Sprintf("iso/large-%d.iso", i), 300<<10) // above the batch limit
	}
	n.publish(t)

	type summary struct {
		Fetched int `json:"files_fetched"`
		Batched int `json:"files_batched"`
	}
	sync := func(upstream, root string) summary {
		t.Helper()
		r := n.sync(t, upstream, root, "--json")
		if r.code != 0 {
			t.Fatalf("sync from %s: exit %d: %s", upstream, r.code, r.stderr)
		}
		var s summary
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("sync --json: %v: %q", err, r.stdout)
		}
		n.verify(t, root)
		return s
	}
	if s := sync(n.url, filepath.Join(n.dir, "a")); s.Fetched != 103 || s.Batched != 100 {
		t.Errorf("from pando serve: %+v, want 103 fetched, the 100 small ones in batches", s)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain := &http.Server{Handler: http.FileServer(http.Dir(n.origin))}
	go plain.Serve(ln)
	t.Cleanup(func() { plain.Close() })
	if s := sync("http://"+ln.Addr().String()+"/", filepath.Join(n.dir, "b")); s.Fetched != 103 || s.Batched != 0 {
		t.Errorf("from a plain static server: %+v, want 103 fetched alone", s)
	}
}
