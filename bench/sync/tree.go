package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Size distribution before -scale: log-normal around a median of 4 KB, so
// most files are small (checksums, metadata, small archives) and a few are
// several MB; about 20 KB a file on average.
const (
	sizeMedian  = 4000
	sizeSigma   = 1.8
	sizeMin     = 256
	sizeMax     = 8 << 20
	filesPerDir = 25 // leaf directories hold this many files on average
	writers     = 4  // files written at once while generating
)

// baseTime is the modification time of every generated file: well in the
// past, so a rewrite is always newer (rsync's quick check compares size and
// modification time).
var baseTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// A fileSpec describes one generated file; its bytes follow from Seed.
type fileSpec struct {
	Path string
	Size int64
	Seed uint64
}

// A tree is the plan of a generated tree.
type tree struct {
	Files []fileSpec
	Dirs  []string // leaf directories
	Bytes int64
}

var syllables = strings.Fields("ka lo mi ne ru sa ti vo xe zu bel dor fen gal hor jin lex mor nix pol qua ros tan vel wyn yar cal dem")
var groups = strings.Fields("org com io net dev")
var exts = strings.Fields("tar.gz tar.gz tar.xz zip jar jar pom pom sha256 asc deb rpm txt html json")

// word makes a name of 2 to 3 syllables.
func word(r *rand.Rand) string {
	var b strings.Builder
	for range 2 + r.IntN(2) {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	return b.String()
}

// planTree lays out n files deterministically from seed: about sqrt(n/25)
// top-level directories each holding as many project directories, files
// spread over them at random, sizes log-normal times scale.
func planTree(n int, scale float64, seed uint64) tree {
	r := rand.New(rand.NewPCG(seed, 0x70616e646f))
	leaves := max(1, n/filesPerDir)
	tops := max(1, int(math.Sqrt(float64(leaves))))
	dirs := make([]string, 0, leaves)
	seen := make(map[string]bool)
	for i := range leaves {
		top := fmt.Sprintf("%s.%s", groups[r.IntN(len(groups))], word(r))
		if i >= tops {
			top = path.Dir(dirs[r.IntN(tops)])
		}
		d := uniqueName(seen, top+"/"+word(r)+suffix(r), i)
		dirs = append(dirs, d)
	}
	t := tree{Dirs: dirs, Files: make([]fileSpec, 0, n)}
	for i := range n {
		t.Files = append(t.Files, newFile(r, seen, dirs[r.IntN(len(dirs))], scale, uint64(i)))
		t.Bytes += t.Files[i].Size
	}
	return t
}

func suffix(r *rand.Rand) string {
	s := []string{"", "", "", "-core", "-utils", "-cli", "-server", "-doc"}
	return s[r.IntN(len(s))]
}

// uniqueName returns name, or name with a number added if it is taken, and
// marks the result taken.
func uniqueName(seen map[string]bool, name string, n int) string {
	if seen[name] {
		name = fmt.Sprintf("%s%d", name, n)
	}
	for i := 0; seen[name] && i < 1000; i++ {
		name = fmt.Sprintf("%s-%d", name, i)
	}
	seen[name] = true
	return name
}

// newFile plans one file in dir named like project-1.2.3.ext.
func newFile(r *rand.Rand, seen map[string]bool, dir string, scale float64, id uint64) fileSpec {
	project := path.Base(dir)
	var name string
	for range 10 { // a fresh version if the name is taken
		version := fmt.Sprintf("%d.%d.%d", r.IntN(10), r.IntN(30), r.IntN(100))
		name = fmt.Sprintf("%s/%s-%s.%s", dir, project, version, exts[r.IntN(len(exts))])
		if !seen[name] {
			break
		}
	}
	return fileSpec{Path: uniqueName(seen, name, int(id)), Size: drawSize(r, scale), Seed: r.Uint64()}
}

func drawSize(r *rand.Rand, scale float64) int64 {
	s := math.Exp(math.Log(sizeMedian) + sizeSigma*r.NormFloat64())
	s = min(max(s, sizeMin), sizeMax) * scale
	return max(1, int64(s))
}

// writeTree writes every planned file under root, writers at a time, each
// with modification time baseTime.
func writeTree(ctx context.Context, root string, t tree, lg *progress) error {
	work := make(chan fileSpec)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for f := range work {
				if err := writeFile(root, f, baseTime); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	err := feed(ctx, work, errs, t.Files, lg)
	close(work)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil once closed and empty
}

// feed sends files to the writers until done, a writer fails or ctx ends.
func feed(ctx context.Context, work chan<- fileSpec, errs <-chan error, files []fileSpec, lg *progress) error {
	for i, f := range files {
		select {
		case work <- f:
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		if (i+1)%10000 == 0 {
			lg.printf("  %d/%d files written", i+1, len(files))
		}
	}
	return nil
}

// writeFile writes f's bytes under root through a temporary name, so that a
// file hard-linked elsewhere is replaced, not changed in place.
func writeFile(root string, f fileSpec, mtime time.Time) error {
	name := filepath.Join(root, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("generate %s: %w", f.Path, err)
	}
	tmp := name + ".bench-tmp"
	if err := os.WriteFile(tmp, content(f), 0o644); err != nil {
		return fmt.Errorf("generate %s: %w", f.Path, err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return fmt.Errorf("generate %s: %w", f.Path, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("generate %s: %w", f.Path, err)
	}
	return nil
}

// content returns f's bytes: pseudo-random, so neither side gains from
// compression or from rsync's rolling checksum matching old blocks.
func content(f fileSpec) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], f.Seed)
	binary.LittleEndian.PutUint64(key[8:], uint64(f.Size))
	b := make([]byte, f.Size)
	_, _ = rand.NewChaCha8(key).Read(b) // never fails
	return b
}
