package safefile

import (
	"os"

	"golang.org/x/sys/unix"
)

// CanSyncFS reports whether SyncFS works on this system.
const CanSyncFS = true

func syncfs(f *os.File) error { return unix.Syncfs(int(f.Fd())) }
