//go:build !linux

package mirror

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Only Linux makes files with no name (O_TMPFILE): elsewhere every file is
// written under a temporary name (name+".part") and renamed, and nothing is
// placed directly (which needs syncfs(2) as well), so there is no unnamed
// file to link or to set the times of.

func openUnnamed(int) (int, error) { return -1, errors.ErrUnsupported }

func linkEmptyPath(int, int, string) error { return errors.ErrUnsupported }

func setTimes(int, unix.Timespec) error { return errors.ErrUnsupported }
