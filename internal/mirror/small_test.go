package mirror

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteWhole: the staged name holds exactly the bytes, replaces a
// damaged file left under it, and no partial file stays behind, whichever
// way the bytes were written, and wherever the unnamed file was made.
func TestWriteWhole(t *testing.T) {
	whole := func(d *stagingDir, near int) func(string, []byte, bool) error {
		return func(name string, data []byte, sync bool) error {
			return d.writeWhole(filepath.Base(name), data, sync, near)
		}
	}
	tree := t.TempDir()
	nearDir, err := os.Open(tree)
	if err != nil {
		t.Fatal(err)
	}
	defer nearDir.Close()
	dir := t.TempDir()
	plain, err := openStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.close()
	viaProc, err := openStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer viaProc.close()
	viaProc.noEmptyPath.Store(true)
	writers := map[string]func(string, []byte, bool) error{
		"whole": whole(plain, -1), "whole through /proc": whole(viaProc, -1), "via part": writeViaPart,
		"whole, made near": whole(plain, int(nearDir.Fd())), "whole, made near, through /proc": whole(viaProc, int(nearDir.Fd())),
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			for _, e := range must(os.ReadDir(dir)) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
			staged := filepath.Join(dir, "blob")
			if err := os.WriteFile(staged, []byte("short"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, sync := range []bool{false, true} {
				if err := write(staged, []byte("the whole blob"), sync); err != nil {
					t.Fatal(err)
				}
				if got, _ := os.ReadFile(staged); string(got) != "the whole blob" {
					t.Fatalf("staged %q", got)
				}
			}
			var names []string
			for _, e := range must(os.ReadDir(dir)) {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"blob"}) {
				t.Errorf("directory holds %v, want only the blob", names)
			}
			if left := must(os.ReadDir(tree)); len(left) != 0 {
				t.Errorf("the directory the file was made in holds %v, want nothing", left)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
