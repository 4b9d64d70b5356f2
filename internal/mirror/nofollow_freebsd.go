package mirror

import "golang.org/x/sys/unix"

// errSymlink is the error open(2) with O_NOFOLLOW gives for a symlink:
// EMLINK on FreeBSD.
const errSymlink = unix.EMLINK
