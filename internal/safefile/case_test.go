package safefile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCaseSensitive: a name whose upper-case form is missing, or is another
// file, is on a case-sensitive file system; one whose upper-case form is
// the same file (a hard link stands in for a case-insensitive file system)
// is not; a name with nothing to fold is refused.
func TestCaseSensitive(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "lock")
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(want bool) {
		t.Helper()
		got, err := CaseSensitive(name)
		if err != nil || got != want {
			t.Errorf("CaseSensitive = %v, %v; want %v", got, err, want)
		}
	}
	check(true)
	upper := filepath.Join(dir, "LOCK")
	if err := os.WriteFile(upper, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	check(true)
	if err := os.Remove(upper); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(name, upper); err != nil {
		t.Fatal(err)
	}
	check(false)
	if _, err := CaseSensitive(upper); err == nil {
		t.Error("CaseSensitive of an upper-case name: no error")
	}
	if _, err := CaseSensitive(filepath.Join(dir, "missing")); err == nil {
		t.Error("CaseSensitive of a missing file: no error")
	}
}
