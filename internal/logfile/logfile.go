// Package logfile owns the log files pando writes itself, such as the
// access logs of "pando serve" and the mirror agent: whole lines appended
// to a file that can be reopened at its name after an outside rotation
// (logrotate moving it away, then SIGHUP) and, if asked, rotated by size
// into NAME.1 to NAME.9, the generations "pando stats ingest" follows.
package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
)

// Generations is how many rotated copies of a log are kept: NAME.1 (the
// newest) to NAME.9.
const Generations = 9

// A File is a log file open for appending. Its methods are safe for
// concurrent use; each Write is one line, written whole.
type File struct {
	name string
	max  int64 // rotate past this size; 0: never

	mu   sync.Mutex
	f    *os.File
	size int64
	err  error // the last rotation's failure, reported once
}

// Open opens name for appending, creating it if need be. With max > 0 the
// file is rotated once it has grown past max bytes: NAME.8 becomes NAME.9,
// ..., NAME becomes NAME.1, and a new NAME is started, so a reader that
// keeps its place by file identity (stats.Ingest) finds where it stopped
// as long as fewer than Generations rotations happen between two of its
// runs.
func Open(name string, max int64) (*File, error) {
	l := &File{name: name, max: max}
	f, size, err := openAppend(name)
	if err != nil {
		return nil, err
	}
	l.f, l.size = f, size
	return l, nil
}

func openAppend(name string) (*os.File, int64, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, 0, err // names the file
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// Name returns the file's name.
func (l *File) Name() string { return l.name }

// Write appends p and rotates the file once it is past its size.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, fs.ErrClosed
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	if err == nil && l.max > 0 && l.size >= l.max {
		l.err = l.rotate()
	}
	return n, err
}

// Reopen closes the file and opens its name again, for a file moved away
// by an outside rotation. If the name cannot be opened, writing goes on to
// the old file and the error is returned.
func (l *File) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fs.ErrClosed
	}
	return l.swap()
}

// swap starts writing to a new file at the name.
func (l *File) swap() error {
	f, size, err := openAppend(l.name)
	if err != nil {
		return err
	}
	old := l.f
	l.f, l.size = f, size
	return old.Close()
}

// rotate shifts the generations and starts a new file. If the new file
// cannot be created, writing goes on to the old one, now NAME.1.
func (l *File) rotate() error {
	for k := Generations - 1; k >= 1; k-- {
		err := os.Rename(Rotated(l.name, k), Rotated(l.name, k+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating log file: %w", err)
		}
	}
	if err := os.Rename(l.name, Rotated(l.name, 1)); err != nil {
		return fmt.Errorf("rotating log file: %w", err)
	}
	if err := l.swap(); err != nil {
		l.size = 0 // try again after another max bytes, not at every line
		return err
	}
	return nil
}

// TakeErr returns the last rotation's failure, once.
func (l *File) TakeErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	l.err = nil
	return err
}

// Close closes the file; later writes fail.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Rotated is the name of generation k of the log name.
func Rotated(name string, k int) string { return name + "." + strconv.Itoa(k) }
