//go:build linux || freebsd

package pgtest

import "syscall"

// endWithParent makes the server end with the test binary even when that
// is killed (a test timeout): the kernel sends it SIGINT, a fast shutdown,
// when this process dies.
func endWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGINT }
