package safefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLocked is returned by Lock when another process holds the lock and the
// caller did not ask to wait.
var ErrLocked = errors.New("locked by another process")

// A LockError says who holds a lock that could not be taken.
type LockError struct {
	Path  string
	Owner string // what the holder wrote into the lock file, if anything
}

func (e *LockError) Error() string {
	if e.Owner != "" {
		return fmt.Sprintf("%s: %v (%s)", e.Path, ErrLocked, e.Owner)
	}
	return fmt.Sprintf("%s: %v", e.Path, ErrLocked)
}

func (e *LockError) Unwrap() error { return ErrLocked }

// A Lock is an exclusive advisory lock (flock) on a file. The kernel drops it
// when the process dies, so a killed run never leaves a stale lock behind.
type Lock struct{ f *os.File }

// TryLock takes the lock on name or, if another process holds it, returns a
// *LockError at once. owner is written into the file for that error message.
func TryLock(name, owner string) (*Lock, error) {
	return lock(context.Background(), name, owner, false)
}

// WaitLock takes the lock on name, waiting until it is free or ctx ends.
func WaitLock(ctx context.Context, name, owner string) (*Lock, error) {
	return lock(ctx, name, owner, true)
}

func lock(ctx context.Context, name, owner string, wait bool) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		if !wait {
			held, _ := os.ReadFile(name)
			f.Close()
			return nil, &LockError{Path: name, Owner: strings.TrimSpace(string(held))}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
	f.Truncate(0) // a previous holder's note must not name the wrong owner
	if owner != "" {
		f.WriteAt([]byte(owner+" pid "+strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing drops the flock
	l.f = nil
	return err
}
