package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// A change is what the change step did to the origin.
type change struct {
	SameSize int   `json:"rewritten_same_size"`
	NewSize  int   `json:"rewritten_new_size"`
	Added    int   `json:"added"`
	Removed  int   `json:"removed"`
	Bytes    int64 `json:"bytes_written"`
}

func (c change) total() int { return c.SameSize + c.NewSize + c.Added + c.Removed }

func (c change) String() string {
	return fmt.Sprintf("%d files (%d rewritten same size, %d rewritten new size, %d added, %d removed; %s written)",
		c.total(), c.SameSize, c.NewSize, c.Added, c.Removed, human(c.Bytes))
}

// changeTime is the modification time of changed files: newer than
// baseTime, and the same in every run.
var changeTime = baseTime.Add(24 * time.Hour)

// planChange picks, deterministically from seed, frac of t's files to
// change: one in twenty added, as many removed, the rest rewritten with new
// bytes, half keeping their size. It returns the files to write and the
// paths to remove.
func planChange(t tree, frac, scale float64, seed uint64) (writes []fileSpec, removes []string, c change) {
	r := rand.New(rand.NewPCG(seed, 0x6368616e6765))
	n := len(t.Files)
	edits := max(4, int(math.Round(float64(n)*frac)))
	c.Added = max(1, edits/20)
	c.Removed = c.Added
	rewrites := min(edits-c.Added-c.Removed, n-c.Removed)
	seen := make(map[string]bool, n)
	for _, f := range t.Files {
		seen[f.Path] = true
	}
	for i, idx := range r.Perm(n)[:rewrites+c.Removed] {
		f := t.Files[idx]
		switch {
		case i < c.Removed:
			removes = append(removes, f.Path)
			continue
		case i%2 == 0:
			c.SameSize++
		default:
			f.Size = drawSize(r, scale)
			c.NewSize++
		}
		f.Seed = r.Uint64()
		writes = append(writes, f)
	}
	for i := range c.Added {
		dir := t.Dirs[r.IntN(len(t.Dirs))]
		writes = append(writes, newFile(r, seen, dir, scale, uint64(n+i)))
	}
	for _, f := range writes {
		c.Bytes += f.Size
	}
	return writes, removes, c
}

// applyChange makes the planned change under root. Files are replaced
// through a temporary name, so the kept pristine tree they may be
// hard-linked to stays as generated.
func applyChange(ctx context.Context, root string, writes []fileSpec, removes []string) error {
	for _, p := range removes {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			return fmt.Errorf("change: %w", err)
		}
	}
	for _, f := range writes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeFile(root, f, changeTime); err != nil {
			return fmt.Errorf("change: %w", err)
		}
	}
	return nil
}

// human formats a byte count with a binary unit.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}
