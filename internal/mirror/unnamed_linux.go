package mirror

import "golang.org/x/sys/unix"

// openUnnamed opens a new file with no name in the directory dir
// (O_TMPFILE), for writing; it gets its name by a link once it is
// complete.
func openUnnamed(dir int) (int, error) {
	return unix.Openat(dir, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
}

// linkEmptyPath names the file fd name in the directory dir by
// linkat(AT_EMPTY_PATH), which some kernels allow only with
// CAP_DAC_READ_SEARCH; the caller falls back to /proc/self/fd.
func linkEmptyPath(fd, dir int, name string) error {
	return unix.Linkat(fd, "", dir, name, unix.AT_EMPTY_PATH)
}

// setTimes sets the access and modification times of the file fd.
func setTimes(fd int, ts unix.Timespec) error {
	if err := unix.UtimesNanoAt(fd, "", []unix.Timespec{ts, ts}, unix.AT_EMPTY_PATH); err == nil {
		return nil
	}
	tv := unix.NsecToTimeval(ts.Nano())
	return unix.Futimes(fd, []unix.Timeval{tv, tv})
}
