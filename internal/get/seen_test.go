package get

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pando-mirror/pando/internal/checkpoint"
	"github.com/pando-mirror/pando/internal/upstream"
)

// snapshot copies the tree as it is now, log and all, and serves the copy:
// a mirror that stays at this state.
func (tt *testTree) snapshot(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dir, os.DirFS(tt.root)); err != nil {
		t.Fatal(err)
	}
	return serveTree(t, dir, nil)
}

// stateClient is a client that keeps its state in dir.
func stateClient(dir string) *Client {
	c := NewClient(upstream.Config{}, nil)
	c.StateDir = dir
	return c
}

// keptRecords returns the record count of the checkpoint kept in dir for
// tt's key.
func (tt *testTree) keptRecords(t *testing.T, dir string) int64 {
	t.Helper()
	cp, err := readSeen(seenFile(dir, tt.verifier), tt.verifier)
	if err != nil {
		t.Fatal(err)
	}
	return cp.N
}

// TestVerifyRefusesRollback: once a client kept a checkpoint, a tree that
// serves an older one is refused as a rollback, with the kept file named;
// one that extends it is taken and kept, through a consistency proof over
// several tiles. A client without state takes the old tree.
func TestVerifyRefusesRollback(t *testing.T) {
	files := make(map[string]string)
	for i := range 300 {
		files[fmt.Sprintf("pool/f-%03d", i)] = fmt.Sprint(i)
	}
	tt := newTestTree(t, files)
	old := tt.snapshot(t) // 300 records
	tt.write(t, map[string]string{"pool/f-000": "a new version", "new.txt": "new"})
	tt.publish(t)
	fresh := serveTree(t, tt.root, nil) // 302 records
	ctx := context.Background()
	dir := t.TempDir()

	// Old first, then fresh: the fresh tree extends what was kept.
	c := stateClient(dir)
	if _, err := c.Verify(ctx, old, "pool/f-001", tt.verifier); err != nil {
		t.Fatal(err)
	}
	if n := tt.keptRecords(t, dir); n != 300 {
		t.Fatalf("kept a checkpoint of %d records, want 300", n)
	}
	ver, err := c.Verify(ctx, fresh, "pool/f-000", tt.verifier)
	if err != nil {
		t.Fatalf("a tree that extends the kept checkpoint: %v", err)
	}
	if ver.Record.Size != int64(len("a new version")) {
		t.Fatalf("record %+v, want the new version", ver.Record)
	}
	if n := tt.keptRecords(t, dir); n != 302 {
		t.Fatalf("kept a checkpoint of %d records after the fresh tree, want 302", n)
	}

	// Now the old tree is a rollback, for this client and another one on the
	// same state, and it does not replace what was kept.
	for _, c := range []*Client{c, stateClient(dir)} {
		_, err := c.Verify(ctx, old, "pool/f-000", tt.verifier)
		if !errors.Is(err, checkpoint.ErrRollback) || !strings.Contains(err.Error(), seenFile(dir, tt.verifier)) {
			t.Fatalf("old tree after the fresh one: %v, want a rollback naming the state file", err)
		}
	}
	if n := tt.keptRecords(t, dir); n != 302 {
		t.Fatalf("kept %d records after the rollback was refused, want 302", n)
	}
	// Without state, the old tree's record is the latest it can see.
	ver, err = NewClient(upstream.Config{}, nil).Verify(ctx, old, "pool/f-000", tt.verifier)
	if err != nil || ver.Record.Size != 1 {
		t.Fatalf("stateless client on the old tree: %+v, %v", ver.Record, err)
	}
}

// TestVerifyRefusesFork: two trees signed by one key with different
// histories from a common start. After one is kept, the other is refused as
// a fork, whether it has as many records or more (then by the consistency
// proof).
func TestVerifyRefusesFork(t *testing.T) {
	files := make(map[string]string)
	for i := range 40 {
		files[fmt.Sprintf("f-%02d", i)] = fmt.Sprint(i)
	}
	a := newTestTree(t, files)
	b := &testTree{root: filepath.Join(t.TempDir(), "b"), signer: a.signer, verifier: a.verifier}
	if err := os.CopyFS(b.root, os.DirFS(a.root)); err != nil {
		t.Fatal(err)
	}
	a.write(t, map[string]string{"x": "a's"})
	a.publish(t) // 41 records
	b.write(t, map[string]string{"y": "b's"})
	b.publish(t) // 41 other records
	same := serveTree(t, b.root, nil)
	b.write(t, map[string]string{"z": "more of b's"})
	b.publish(t) // 42
	longer := serveTree(t, b.root, nil)
	ctx := context.Background()

	for _, tc := range []struct{ name, tree string }{{"as many records", same}, {"more records", longer}} {
		dir := t.TempDir()
		c := stateClient(dir)
		if _, err := c.Verify(ctx, serveTree(t, a.root, nil), "x", a.verifier); err != nil {
			t.Fatal(err)
		}
		_, err := c.Verify(ctx, tc.tree, "f-01", a.verifier)
		if !errors.Is(err, checkpoint.ErrFork) {
			t.Errorf("%s: %v, want a fork", tc.name, err)
		}
		if n := a.keptRecords(t, dir); n != 41 {
			t.Errorf("%s: kept %d records after the fork was refused, want a's 41", tc.name, n)
		}
	}
}

// TestVerifyDamagedState: a kept checkpoint that no longer verifies stops
// the client with an error naming the file, and nothing is written over it.
func TestVerifyDamagedState(t *testing.T) {
	tt := newTestTree(t, map[string]string{"a": "alpha"})
	base := serveTree(t, tt.root, nil)
	dir := t.TempDir()
	c := stateClient(dir)
	if _, err := c.Verify(context.Background(), base, "a", tt.verifier); err != nil {
		t.Fatal(err)
	}
	name := seenFile(dir, tt.verifier)
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	damaged := []byte(strings.Replace(string(data), "\n1\n", "\n7\n", 1)) // the record count
	if err := os.WriteFile(name, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = c.Verify(context.Background(), base, "a", tt.verifier)
	if se, ok := errors.AsType[*StateError](err); !ok || se.Path != name {
		t.Fatalf("with a damaged state file: %v, want a StateError naming %s", err, name)
	}
	// A Fetch stops there: every tree would meet the same state.
	var other reqLog // the URL's own tree, tried after the mirrors
	o := fetchOpts(tt, serveTree(t, tt.root, other.wrap)+"a", filepath.Join(t.TempDir(), "a"))
	o.Path, o.Mirrors, o.State = "a", []string{base}, dir
	res, err := Fetch(context.Background(), o)
	if _, ok := errors.AsType[*StateError](err); !ok || len(res.Tried) != 1 || len(other.matching("/.pando/")) != 0 {
		t.Fatalf("Fetch with a damaged state: %v after %+v (the next tree's log asked: %+v), want a StateError at the first", err, res.Tried, other.matching("/.pando/"))
	}
	if got, _ := os.ReadFile(name); string(got) != string(damaged) {
		t.Error("the damaged state file was replaced")
	}
}

// TestVerifyStateUnwritable: a state directory that cannot be made is the
// client's own failure, not the tree's.
func TestVerifyStateUnwritable(t *testing.T) {
	tt := newTestTree(t, map[string]string{"a": "alpha"})
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := stateClient(filepath.Join(file, "state")).Verify(context.Background(), serveTree(t, tt.root, nil), "a", tt.verifier)
	if _, ok := errors.AsType[*StateError](err); !ok {
		t.Fatalf("state under a file: %v, want a StateError", err)
	}
}
