package logdir

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pando-mirror/pando/internal/safefile"
)

// TestCommitSyncFS: committing with one syncfs writes the same files as
// committing with an fsync each, and the result loads.
func TestCommitSyncFS(t *testing.T) {
	if !safefile.CanSyncFS {
		t.Skip("syncfs(2) is Linux's; elsewhere nothing calls CommitSyncFS")
	}
	s, v := newKey(t)
	a, b := t.TempDir(), t.TempDir()
	l1, signed1 := extend(t, Empty(origin), recordLines(t, 0, 300), s, 1700001000)
	l2, signed2 := extend(t, l1, recordLines(t, 300, 700), s, 1700002000)
	for _, step := range []struct {
		old, next *Log
		signed    []byte
	}{{Empty(origin), l1, signed1}, {l1, l2, signed2}} {
		if err := Commit(a, step.old, step.next, step.signed); err != nil {
			t.Fatal(err)
		}
		if err := CommitSyncFS(b, step.old, step.next, step.signed); err != nil {
			t.Fatal(err)
		}
	}
	files := func(root string) map[string][]byte {
		out := make(map[string][]byte)
		filepath.WalkDir(native(root, Dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				rel, _ := filepath.Rel(root, p)
				out[filepath.ToSlash(rel)], _ = os.ReadFile(p)
			}
			return err
		})
		return out
	}
	fa, fb := files(a), files(b)
	if len(fa) != len(fb) {
		t.Fatalf("%d files with fsyncs, %d with syncfs", len(fa), len(fb))
	}
	for name, data := range fa {
		if !bytes.Equal(fb[name], data) {
			t.Errorf("%s differs", name)
		}
	}
	got, err := LoadFull(b, v)
	if err != nil {
		t.Fatal(err)
	}
	sameLog(t, got, l2)
}
