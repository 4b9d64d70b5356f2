package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// dirNames lists the names in dir, to show no temporary file was left.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileNew(t *testing.T) {
	for _, perm := range []os.FileMode{0o600, 0o644, 0o640, 0o604, 0o666} {
		t.Run(perm.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b") // created by WriteFile
			name := filepath.Join(dir, "file")
			if err := WriteFile(name, []byte("contents\n"), perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(name)
			if err != nil || string(got) != "contents\n" {
				t.Fatalf("ReadFile = %q, %v", got, err)
			}
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != perm { // exactly, whatever the umask
				t.Fatalf("mode %v, want %v", fi.Mode(), perm)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"file"}) {
				t.Fatalf("directory holds %q, want only the file", names)
			}
		})
	}
}

// TestWriteFileReplaces shows the replacement is a rename of a new file, not
// a rewrite in place: a reader that opened the old file still reads it whole.
func TestWriteFileReplaces(t *testing.T) {
	writeFileReplaces(t, WriteFile)
}

// TestWriteFileUnsyncedReplaces: without the syncs, a replacement is still
// whole for readers and leaves no temporary file.
func TestWriteFileUnsyncedReplaces(t *testing.T) {
	writeFileReplaces(t, WriteFileUnsynced)
}

func writeFileReplaces(t *testing.T, write func(string, []byte, os.FileMode) error) {
	dir := t.TempDir()
	name := filepath.Join(dir, "checkpoint")
	if err := write(name, []byte("old contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if err := write(name, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); string(got) != "new" {
		t.Fatalf("file holds %q, want %q", got, "new")
	}
	if old, _ := io.ReadAll(reader); string(old) != "old contents" {
		t.Fatalf("the old file's reader got %q, want the old contents whole", old)
	}
	if fi, _ := os.Stat(name); fi.Mode() != 0o644 {
		t.Fatalf("mode %v after replacing, want -rw-r--r--", fi.Mode())
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"checkpoint"}) {
		t.Fatalf("directory holds %q, want only the file", names)
	}
}

func TestWriteFailureLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "journal")
	if err := WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(name, 0o644, func(w io.Writer) error {
		w.Write([]byte("half of the new cont"))
		return boom
	})
	if want := "write " + name + ": boom"; err == nil || err.Error() != want || !errors.Is(err, boom) {
		t.Fatalf("Write error = %v, want %q wrapping the fill error", err, want)
	}
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Fatalf("file holds %q after a failed write, want the old contents", got)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"journal"}) {
		t.Fatalf("directory holds %q, want only the old file", names)
	}
}

func TestWriteOverDirectoryCleansUp(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "sub")
	if err := os.Mkdir(name, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(name, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(name, []byte("data"), 0o644); err == nil {
		t.Fatal("WriteFile over a non-empty directory succeeded")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"sub"}) {
		t.Fatalf("directory holds %q after a failed rename, want no temporary file", names)
	}
}

func TestWriteUnderAFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(file, "x"), []byte("data"), 0o644); err == nil {
		t.Fatal("WriteFile below a regular file succeeded")
	}
}

func TestRename(t *testing.T) {
	dir := t.TempDir()
	from := filepath.Join(dir, "staging", "f")
	to := filepath.Join(dir, "tree", "sub", "f")
	if err := WriteFile(from, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rename(from, to); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(to); err != nil || string(got) != "x" {
		t.Fatalf("renamed file: %q, %v", got, err)
	}
	if _, err := os.Stat(from); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old name still there: %v", err)
	}
	if err := Rename(from, to); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Rename of a missing file: %v", err)
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SyncDir of a missing directory: %v", err)
	}
}

// TestStaged: a staged file leaves the old contents in place until Replace,
// and Discard leaves nothing behind.
func TestStaged(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "checkpoint")
	if err := os.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Stage(name, []byte("new"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Fatalf("before Replace the file holds %q", got)
	}
	if err := s.Replace(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(name); string(got) != "new" {
		t.Errorf("after Replace the file holds %q", got)
	}
	d, err := Stage(name, []byte("never"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	d.Discard()
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries after a Discard, want only the file", len(ents))
	}
	if got, _ := os.ReadFile(name); string(got) != "new" {
		t.Errorf("a discarded stage changed the file: %q", got)
	}
}
