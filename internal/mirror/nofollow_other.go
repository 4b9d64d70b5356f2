//go:build !freebsd

package mirror

import "golang.org/x/sys/unix"

// errSymlink is the error open(2) with O_NOFOLLOW gives for a symlink:
// ELOOP, as POSIX has it.
const errSymlink = unix.ELOOP
