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
	for name, write := range map[string]func(string, []byte, bool) error{"whole": writeWhole, "via part": writeViaPart} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
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
			ents, _ := os.ReadDir(dir)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"blob"}) {
				t.Errorf("directory holds %v, want only the blob", names)
			}
		})
	}
}
