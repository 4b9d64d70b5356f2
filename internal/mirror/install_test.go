package mirror

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

// TestInstallSharedBlob: many paths with the same bytes, installed by
// runs side by side, each get a whole copy; the blob taken by the last of
// them is never gone before the others copied it.
func TestInstallSharedBlob(t *testing.T) {
	data := []byte("the same bytes under many names\n")
	// Every copy starts late: a blob taken before the copies were made
	// would be gone.
	testHookCopy = func() { time.Sleep(5 * time.Millisecond) }
	defer func() { testHookCopy = nil }()
	sum := sha256.Sum256(data)
	for round := range 5 {
		dir := t.TempDir()
		staging := filepath.Join(dir, filepath.FromSlash(logdir.StagingDir))
		if err := os.MkdirAll(staging, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(staging, fmt.Sprintf("%x", sum)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		var p plan
		const n = 16
		for i := range n {
			p.install = append(p.install, journal.Record{Kind: journal.File, Path: fmt.Sprintf("d%02d/f", i),
				Size: int64(len(data)), SHA256: sum, MTime: 1700000000})
		}
		p.blobs = []blob{{sha: sum, size: int64(len(data)), uses: n}}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		in := &installer{root: root, rootDir: dir, staging: logdir.StagingDir}
		err = in.install(p)
		root.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, r := range p.install {
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.Path)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("round %d: %s: %d bytes, %v; want the blob's %d", round, r.Path, len(got), err, len(data))
			}
		}
	}
}
