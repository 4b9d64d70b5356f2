//go:build !unix

package stats

import "io/fs"

// fileID returns zeros: this system's FileInfo carries no inode number, and
// a log file is recognised by its first bytes alone.
func fileID(fs.FileInfo) (dev, ino uint64) { return 0, 0 }
