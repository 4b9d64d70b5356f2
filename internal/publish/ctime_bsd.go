//go:build darwin || freebsd

package publish

import "syscall"

// ctime returns the inode change time of st in nanoseconds.
func ctime(st *syscall.Stat_t) int64 { return st.Ctimespec.Sec*1e9 + st.Ctimespec.Nsec }
