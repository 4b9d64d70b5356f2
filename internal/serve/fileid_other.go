//go:build !unix

package serve

import "io/fs"

// fileID returns 0: this system's FileInfo carries no inode number, and the
// ETag rests on size and modification time alone.
func fileID(fs.FileInfo) uint64 { return 0 }
