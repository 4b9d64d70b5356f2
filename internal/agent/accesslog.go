package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
)

// generations is how many rotated copies of the access log are kept:
// NAME.1 (the newest) to NAME.9, the ones "pando stats ingest" follows.
const generations = 9

// DefaultLogMax is the size past which the agent's access log is rotated.
const DefaultLogMax = 64 << 20

// logFile is an access log the agent writes: lines appended to one file,
// which is rotated once it has grown past max. Rotation renames NAME.8 to
// NAME.9, ..., NAME to NAME.1 and starts a new NAME, so a reader that keeps
// its place by file identity (stats.Ingest) finds where it stopped as long
// as fewer than nine rotations happen between two of its runs.
type logFile struct {
	name string
	max  int64

	mu   sync.Mutex
	f    *os.File
	size int64
	err  error // the last rotation's failure, reported once
}

// openLogFile opens name for appending, creating it if need be.
func openLogFile(name string, max int64) (*logFile, error) {
	if max <= 0 {
		max = DefaultLogMax
	}
	l := &logFile{name: name, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("access log: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Write appends one whole line (the access log handler writes a line per
// call) and rotates the file once it is past its size.
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, fs.ErrClosed
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	if err == nil && l.size >= l.max {
		l.err = l.rotate()
	}
	return n, err
}

// rotate shifts the generations and starts a new file. If the new file
// cannot be created, writing goes on to the old one, now NAME.1.
func (l *logFile) rotate() error {
	for k := generations - 1; k >= 1; k-- {
		err := os.Rename(rotated(l.name, k), rotated(l.name, k+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating access log: %w", err)
		}
	}
	if err := os.Rename(l.name, rotated(l.name, 1)); err != nil {
		return fmt.Errorf("rotating access log: %w", err)
	}
	old := l.f
	if err := l.open(); err != nil {
		l.size = 0 // try again after another max bytes, not at every line
		return err
	}
	return old.Close()
}

// takeErr returns the last rotation's failure once.
func (l *logFile) takeErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	l.err = nil
	return err
}

// Close closes the file; later writes fail.
func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func rotated(name string, k int) string { return name + "." + strconv.Itoa(k) }
