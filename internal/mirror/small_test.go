package mirror

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteWhole: the staged name holds exactly the bytes, replaces a
// damaged file left under it, and no partial file stays behind, whichever
// way the bytes were written.
func TestWriteWhole(t *testing.T) {
	whole := func(d *stagingDir) func(string, []byte, bool) error {
		return func(name string, data []byte, sync bool) error {
			return d.writeWhole(filepath.Base(name), data, sync)
		}
	}
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
		"whole": whole(plain), "whole through /proc": whole(viaProc), "via part": writeViaPart,
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
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
