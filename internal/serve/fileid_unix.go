//go:build unix

package serve

import (
	"io/fs"
	"syscall"
)

// fileID returns the file's inode number.
func fileID(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
