// Package casetest makes a tree look, to safefile.CaseSensitive, as if it
// were on a file system that does not tell upper from lower case. No such
// file system can be mounted by the tests, so a hard link from the lock
// file's upper-case name stands in for the folding. Imported only by tests.
package casetest

import (
	"os"
	"path/filepath"
	"testing"
)

// Fold gives the tree at root a lock file (.pando/local/lock) whose
// upper-case name is the same file.
func Fold(t testing.TB, root string) {
	t.Helper()
	local := filepath.Join(root, ".pando", "local")
	if err := os.MkdirAll(local, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(local, "lock"), filepath.Join(local, "LOCK")); err != nil {
		t.Fatal(err)
	}
}
