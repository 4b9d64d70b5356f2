package serve

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOpenDirect: the one-call open takes only a regular file reached
// without any symlink and inside the tree; everything else is left to the
// step-by-step resolution.
func TestOpenDirect(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/b.txt", "bytes")
	os.WriteFile(filepath.Join(outside, "secret"), []byte("no"), 0o644)
	os.Symlink("b.txt", filepath.Join(dir, "a/link"))
	os.Symlink("a", filepath.Join(dir, "dirlink"))
	os.Symlink(outside, filepath.Join(dir, "out"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rootDir, err := root.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	defer rootDir.Close()

	f, fi, ok := openDirect(rootDir, "a/b.txt")
	if !ok {
		t.Fatal("a plain file was not opened directly")
	}
	if fi.Size() != int64(len("bytes")) || !fi.Mode().IsRegular() || fileID(fi) == 0 {
		t.Errorf("opened with size %d, mode %v, inode %d", fi.Size(), fi.Mode(), fileID(fi))
	}
	data, _ := io.ReadAll(f)
	f.Close()
	if string(data) != "bytes" {
		t.Errorf("read %q", data)
	}
	for _, name := range []string{"a/link", "dirlink/b.txt", "out/secret", "a", "fifo", "missing", "../" + filepath.Base(outside) + "/secret"} {
		if f, _, ok := openDirect(rootDir, name); ok {
			f.Close()
			t.Errorf("%s: opened directly", name)
		}
	}
	if _, _, ok := openDirect(nil, "a/b.txt"); ok {
		t.Error("opened without a root directory")
	}
}
