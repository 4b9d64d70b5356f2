package pgtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServerEndsWithItsProcess: a test binary killed outright (as a test
// timeout kills it) takes its server with it.
func TestServerEndsWithItsProcess(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		s, err := start()
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(s.cmd.Process.Pid)
		time.Sleep(time.Minute) // until killed
		os.Exit(1)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestServerEndsWithItsProcess$")
	child.Env = append(os.Environ(), "PGTEST_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("the child did not start a server: %q", line)
	}
	if !running(pid) {
		t.Fatalf("server %d is not running while its test binary is", pid)
	}
	child.Process.Kill()
	child.Wait()
	for deadline := time.Now().Add(30 * time.Second); running(pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server %d still runs 30s after its test binary was killed", pid)
		}
	}
}

// running reports whether pid is a live process (not gone, not a zombie
// nobody has reaped).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}
