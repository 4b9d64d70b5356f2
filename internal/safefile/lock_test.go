package safefile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// holderEnv names the lock file a re-executed test binary holds until its
// standard input closes or it is killed.
const holderEnv = "SAFEFILE_TEST_HOLD_LOCK"

func TestMain(m *testing.M) {
	if name := os.Getenv(holderEnv); name != "" {
		os.Exit(holdLock(name))
	}
	os.Exit(m.Run())
}

func holdLock(name string) int {
	l, err := TryLock(name, "lock holder")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer l.Unlock()
	fmt.Println("locked")
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute): // never outlive a lost parent for long
	}
	return 0
}

// The longest any test waits for something that should happen at once.
const patience = 10 * time.Second

func TestTryLockTwice(t *testing.T) {
	name := filepath.Join(t.TempDir(), "local", "lock") // parent created
	first, err := TryLock(name, "pando publish")
	if err != nil {
		t.Fatal(err)
	}
	second, err := TryLock(name, "pando mirror sync")
	if second != nil {
		t.Fatal("second TryLock took a held lock")
	}
	var le *LockError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock: %v (%T), want a *LockError wrapping ErrLocked", err, err)
	}
	owner := fmt.Sprintf("pando publish pid %d", os.Getpid())
	if le.Path != name || le.Owner != owner {
		t.Fatalf("LockError{Path: %q, Owner: %q}, want {%q, %q}", le.Path, le.Owner, name, owner)
	}
	if want := name + ": locked by another process (" + owner + ")"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	third, err := TryLock(name, "pando mirror sync")
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	defer third.Unlock()
	if got, _ := os.ReadFile(name); string(got) != fmt.Sprintf("pando mirror sync pid %d\n", os.Getpid()) {
		t.Fatalf("lock file holds %q, want the new owner only", got)
	}
}

func TestLockErrorWithoutOwner(t *testing.T) {
	name := filepath.Join(t.TempDir(), "lock")
	l, err := TryLock(name, "")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	_, err = TryLock(name, "other")
	if want := name + ": locked by another process"; err == nil || err.Error() != want {
		t.Fatalf("TryLock error = %v, want %q", err, want)
	}
}

func TestUnlockTwice(t *testing.T) {
	l, err := TryLock(filepath.Join(t.TempDir(), "lock"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	if err := (*Lock)(nil).Unlock(); err != nil {
		t.Fatalf("nil Unlock: %v", err)
	}
}

type lockResult struct {
	l   *Lock
	err error
}

func waitLock(ctx context.Context, name, owner string) <-chan lockResult {
	ch := make(chan lockResult, 1)
	go func() {
		l, err := WaitLock(ctx, name, owner)
		ch <- lockResult{l, err}
	}()
	return ch
}

// stillWaiting fails the test if ch delivers within a few poll intervals.
func stillWaiting(t *testing.T, ch <-chan lockResult) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("WaitLock returned %v, %v while the lock was held", r.l, r.err)
	case <-time.After(300 * time.Millisecond):
	}
}

func receive(t *testing.T, ch <-chan lockResult) lockResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(patience):
		t.Fatal("WaitLock did not return")
		return lockResult{}
	}
}

func TestWaitLockWaitsForRelease(t *testing.T) {
	name := filepath.Join(t.TempDir(), "lock")
	free, err := WaitLock(context.Background(), name, "first")
	if err != nil {
		t.Fatalf("WaitLock of a free lock: %v", err)
	}
	ch := waitLock(context.Background(), name, "second")
	stillWaiting(t, ch)
	if err := free.Unlock(); err != nil {
		t.Fatal(err)
	}
	r := receive(t, ch)
	if r.err != nil {
		t.Fatalf("WaitLock after release: %v", r.err)
	}
	defer r.l.Unlock()
	if got, _ := os.ReadFile(name); string(got) != fmt.Sprintf("second pid %d\n", os.Getpid()) {
		t.Fatalf("lock file holds %q", got)
	}
}

func TestWaitLockContext(t *testing.T) {
	name := filepath.Join(t.TempDir(), "lock")
	held, err := TryLock(name, "holder")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch := waitLock(ctx, name, "waiter")
		stillWaiting(t, ch)
		cancel()
		r := receive(t, ch)
		if want := "waiting for lock " + name + ": context canceled"; r.err == nil || r.err.Error() != want || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("WaitLock after cancel: %v, want %q", r.err, want)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		r := receive(t, waitLock(ctx, name, "waiter"))
		if want := "waiting for lock " + name + ": context deadline exceeded"; r.err == nil || r.err.Error() != want || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("WaitLock past its deadline: %v, want %q", r.err, want)
		}
	})
	if got, _ := os.ReadFile(name); string(got) != fmt.Sprintf("holder pid %d\n", os.Getpid()) {
		t.Fatalf("waiters that gave up changed the lock file to %q", got)
	}
}

// TestLockHeldByAnotherProcess runs a second copy of this test binary that
// takes the lock, shows that this process is refused with the holder's pid,
// then kills the holder and shows that the kernel freed the lock.
func TestLockHeldByAnotherProcess(t *testing.T) {
	name := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+name)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "locked\n" {
			t.Fatalf("lock holder said %q", line)
		}
	case <-time.After(patience):
		t.Fatal("lock holder did not take the lock")
	}

	_, err = TryLock(name, "test")
	owner := fmt.Sprintf("lock holder pid %d", cmd.Process.Pid)
	if want := name + ": locked by another process (" + owner + ")"; err == nil || err.Error() != want || !errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock of a lock another process holds: %v, want %q", err, want)
	}

	ch := waitLock(context.Background(), name, "test")
	stillWaiting(t, ch)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	exited = true
	r := receive(t, ch)
	if r.err != nil {
		t.Fatalf("WaitLock after the holder was killed: %v", r.err)
	}
	if err := r.l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l, err := TryLock(name, "test")
	if err != nil {
		t.Fatalf("TryLock after the holder was killed: %v", err)
	}
	l.Unlock()
}
