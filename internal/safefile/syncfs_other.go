//go:build !linux

package safefile

import (
	"errors"
	"os"
)

// CanSyncFS reports whether SyncFS works on this system: syncfs(2) is
// Linux's, and sync(2) elsewhere need not wait for the writes it starts.
const CanSyncFS = false

func syncfs(*os.File) error { return errors.ErrUnsupported }
