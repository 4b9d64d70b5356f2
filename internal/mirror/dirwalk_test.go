package mirror

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDirWalker: directories are made as needed, a file or symlink in the
// way is replaced by a directory, and no symlink is ever followed, even one
// that leads to a directory inside the tree.
func TestDirWalker(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "real/sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644))
	must(os.Symlink("real", filepath.Join(dir, "inside")))
	must(os.Symlink(outside, filepath.Join(dir, "out")))
	root, err := os.OpenRoot(dir)
	must(err)
	defer root.Close()
	w, err := newDirWalker(root)
	must(err)
	defer w.close()
	for _, d := range []string{"real/sub", "real/sub/new", "a/b/c", "a/b/d", "file/x", "inside/y", "out/z", ".", "real"} {
		fd, err := w.open(d)
		if err != nil {
			t.Fatalf("open %s: %v", d, err)
		}
		if d == "." {
			continue
		}
		want, err := os.Lstat(filepath.Join(dir, d))
		if err != nil || !want.IsDir() {
			t.Fatalf("%s is not a directory after open: %v", d, err)
		}
		var got unix.Stat_t
		must(unix.Fstat(fd, &got))
		if st := want.Sys().(*syscall.Stat_t); got.Ino != st.Ino || got.Dev != st.Dev {
			t.Errorf("open %s gave another directory", d)
		}
	}
	for _, d := range []string{"file", "inside", "out"} {
		if fi, err := os.Lstat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: the file or symlink in the way was not replaced by a directory", d)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("wrote outside the tree: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(dir, "real/y")); err == nil {
		t.Error("followed the symlink inside the tree")
	}
}

// TestDirWalkerKeep: a walker that keeps what is in the way makes missing
// directories but leaves a file or symlink where a directory should be, and
// says so.
func TestDirWalkerKeep(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	w, err := newDirWalker(root)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.keep = true
	if _, err := w.open("new/sub"); err != nil {
		t.Fatalf("open new/sub: %v", err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "new/sub")); err != nil || !fi.IsDir() {
		t.Errorf("new/sub was not made: %v", err)
	}
	for _, d := range []string{"file/x", "link/x"} {
		if _, err := w.open(d); !errors.Is(err, errInTheWay) {
			t.Errorf("open %s = %v, want errInTheWay", d, err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(dir, "file")); err != nil || string(got) != "x" {
		t.Errorf("the file in the way was touched: %q, %v", got, err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink in the way was touched: %v", err)
	}
}
