package publish

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"

	"github.com/pando-mirror/pando/internal/keytest"
)

func testKeys(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	return keytest.New(t, "repo.example.org")
}

func write(t *testing.T, root, p, data string) {
	t.Helper()
	name := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScanFindsEverything: a tree of many directories, deep and wide, is
// walked on several goroutines; every file and symlink comes back exactly
// once with its stat, and nothing under .pando does.
func TestScanFindsEverything(t *testing.T) {
	root := t.TempDir()
	var want []string
	for i := range 300 {
		p := fmt.Sprintf("d%d/e%d/f%d/file-%d", i%5, i%11, i%3, i)
		write(t, root, p, strings.Repeat("x", i))
		want = append(want, p)
	}
	write(t, root, "top", "t")
	want = append(want, "top")
	if err := os.Symlink("d0/e0/f0/file-0", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	want = append(want, "link")
	write(t, root, ".pando/local/statcache", "not the tree's")
	write(t, root, ".pando/journal", "not the tree's")

	got, err := scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, s := range got {
		paths = append(paths, s.path)
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(s.path)))
		if err != nil {
			t.Fatal(err)
		}
		if want := statOf(fi); s.stat != want {
			t.Errorf("%s: stat %+v, want %+v", s.path, s.stat, want)
		}
		switch {
		case s.path == "link" && (s.kind != journal.Symlink || s.target != "d0/e0/f0/file-0"):
			t.Errorf("link: kind %v target %q", s.kind, s.target)
		case s.path != "link" && s.kind != journal.File:
			t.Errorf("%s: kind %v, want a file", s.path, s.kind)
		}
	}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Errorf("scan found %d paths, want %d:\n%v", len(paths), len(want), paths)
	}
}

// TestPublishRefuses: a path the journal cannot carry, a symlink leading
// out of the tree and a special file each stop the publish with an error
// naming the path, and no checkpoint is written.
func TestPublishRefuses(t *testing.T) {
	signer, verifier := testKeys(t)
	cases := map[string]struct {
		make func(t *testing.T, root string)
		want string
	}{
		"newline in a name":      {func(t *testing.T, root string) { write(t, root, "pool/bad\nname", "x") }, `"pool/bad\nname"`},
		"newline in a directory": {func(t *testing.T, root string) { write(t, root, "po\nol/file", "x") }, `"po\nol"`},
		"symlink out of the tree": {func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, "pool"), 0o755)
			os.Symlink("../../etc/passwd", filepath.Join(root, "pool", "escape"))
		}, `"pool/escape"`},
		"absolute symlink":    {func(t *testing.T, root string) { os.Symlink("/etc/passwd", filepath.Join(root, "abs")) }, `"abs"`},
		"symlink into .pando": {func(t *testing.T, root string) { os.Symlink(".pando/local/lock", filepath.Join(root, "meta")) }, `"meta"`},
		"named pipe": {func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, "pool"), 0o755)
			if err := syscall.Mkfifo(filepath.Join(root, "pool", "fifo"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, `"pool/fifo"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, "pool/good", "fine")
			tc.make(t, root)
			_, err := Publish(t.Context(), Options{Root: root, Signer: signer, Verifier: verifier})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("publish: %v, want an error naming %s", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(logdir.CheckpointPath))); err == nil {
				t.Error("a refused publish wrote a checkpoint")
			}
		})
	}
}

// TestPublishReadsOnlyWhatChanged: a second publish of an unchanged tree
// reads no file; one changed, one added and one removed file give exactly
// those records, with the removal first.
func TestPublishReadsOnlyWhatChanged(t *testing.T) {
	signer, verifier := testKeys(t)
	root := t.TempDir()
	for i := range 40 {
		write(t, root, fmt.Sprintf("pool/%d/f%d", i%4, i), fmt.Sprint("content ", i))
	}
	pub := func() Result {
		t.Helper()
		res, err := Publish(t.Context(), Options{Root: root, Signer: signer, Verifier: verifier})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := pub(); res.Hashed != 40 || res.Added != 40 || res.After != 40 {
		t.Fatalf("first publish: %+v", res)
	}
	if res := pub(); res.Hashed != 0 || res.After != 40 || res.Added+res.Changed+res.Removed != 0 {
		t.Errorf("no-change publish: %+v, want no file read and no record", res)
	}
	write(t, root, "pool/1/f1", "changed, and longer")
	write(t, root, "pool/9/new", "new")
	os.Remove(filepath.Join(root, "pool/2/f2"))
	res := pub()
	if res.Hashed != 2 || res.Changed != 1 || res.Added != 1 || res.Removed != 1 || res.After != 43 {
		t.Errorf("publish after a change: %+v, want 2 files read and one record each", res)
	}
	l, err := logdir.Load(root, verifier)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(l.Journal), "\n"), "\n")
	var kinds []string
	for _, line := range lines[40:] {
		r, err := journal.ParseLine([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, fmt.Sprint(r.Kind, " ", r.Path))
	}
	if want := []string{fmt.Sprint(journal.Remove, " pool/2/f2"), fmt.Sprint(journal.File, " pool/1/f1"), fmt.Sprint(journal.File, " pool/9/new")}; !slices.Equal(kinds, want) {
		t.Errorf("new records %q, want %q", kinds, want)
	}
}
