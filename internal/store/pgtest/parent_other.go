//go:build !linux && !freebsd

package pgtest

import "syscall"

// endWithParent does nothing: only Linux and FreeBSD end a child with its
// parent, so elsewhere a test binary killed by a timeout leaves the server
// running.
func endWithParent(*syscall.SysProcAttr) {}
