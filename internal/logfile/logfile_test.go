package logfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/stats"
)

// tallySender counts what ingest sends, as the hub would, batch IDs once.
type tallySender struct {
	mu    sync.Mutex
	seen  map[string]bool
	paths map[string]int64
}

func (s *tallySender) Send(_ context.Context, b *stats.Batch) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[b.BatchID] {
		return true, nil
	}
	s.seen[b.BatchID] = true
	for _, c := range b.Counts {
		s.paths[c.Path] += c.Downloads
	}
	return false, nil
}

func logLine(path string) string {
	ts := time.Now().Format("02/Jan/2006:15:04:05 -0700")
	return fmt.Sprintf("127.0.0.1 - - [%s] \"GET /%s HTTP/1.1\" 200 5 \"-\" \"test\"\n", ts, path)
}

func TestLogFileRotatesIntoGenerationsIngestFollows(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access.log")
	// Lines differ (ingest also knows a file by its first bytes) and have
	// the same length, three to a file.
	l, err := Open(name, int64(3*len(logLine("f/x-00.bin"))))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &tallySender{seen: map[string]bool{}, paths: map[string]int64{}}
	ingest := func() {
		t.Helper()
		if _, err := stats.Ingest(t.Context(), stats.IngestOptions{Log: name, Format: stats.Combined, Mirror: "m1", Sender: s}); err != nil {
			t.Fatal(err)
		}
	}
	written := 0
	write := func(n int) {
		for range n {
			if _, err := l.Write([]byte(logLine(fmt.Sprintf("f/x-%02d.bin", written)))); err != nil {
				t.Fatal(err)
			}
			written++
		}
	}
	write(2)
	ingest()
	write(20) // rotated six times between two reports, mid-file
	ingest()
	write(1)
	ingest()
	for i := range written {
		if got := s.paths[fmt.Sprintf("f/x-%02d.bin", i)]; got != 1 {
			t.Errorf("line %d counted %d times, want once", i, got)
		}
	}
	if err := l.TakeErr(); err != nil {
		t.Errorf("rotation: %v", err)
	}
	for k := 1; k <= 7; k++ {
		if _, err := os.Stat(Rotated(name, k)); err != nil {
			t.Errorf("generation %d: %v", k, err)
		}
	}
}

func TestLogFileKeepsNineGenerations(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(name, 1) // every line its own file
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		fmt.Fprintf(l, "line %d\n", i)
	}
	l.Close()
	if _, err := os.Stat(Rotated(name, Generations+1)); !os.IsNotExist(err) {
		t.Errorf("generation %d exists (%v), want at most %d", Generations+1, err, Generations)
	}
	b, err := os.ReadFile(Rotated(name, 1))
	if err != nil || string(b) != "line 11\n" {
		t.Errorf("newest generation = %q, %v; want the last line", b, err)
	}
	b, err = os.ReadFile(Rotated(name, Generations))
	if err != nil || string(b) != "line 3\n" {
		t.Errorf("oldest generation = %q, %v; want line 3", b, err)
	}
	if _, err := l.Write([]byte("late\n")); err == nil {
		t.Error("write after Close succeeded")
	}
}

func TestLogFileAppendsToExisting(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(name, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	l, err := Open(name, 8)
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("new!\n")) // 9 bytes with the old line: rotates
	l.Close()
	b, _ := os.ReadFile(Rotated(name, 1))
	if string(b) != "old\nnew!\n" {
		t.Errorf("rotated file = %q, want the old line kept and the new appended", b)
	}
	if _, err := Open(filepath.Join(name, "sub", "x"), 0); err == nil || !strings.Contains(err.Error(), filepath.Join(name, "sub", "x")) {
		t.Errorf("opening a log below a file: %v, want an error naming it", err)
	}
}

func TestLogFileReopen(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(name, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write([]byte("before\n"))
	if err := os.Rename(name, name+".old"); err != nil { // logrotate moves it away
		t.Fatal(err)
	}
	l.Write([]byte("still the old file\n"))
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("after\n"))
	old, _ := os.ReadFile(name + ".old")
	cur, _ := os.ReadFile(name)
	if string(old) != "before\nstill the old file\n" || string(cur) != "after\n" {
		t.Errorf("old file %q, new file %q", old, cur)
	}
	// A name that cannot be opened keeps the old file.
	os.Remove(name)
	if err := os.Mkdir(name, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil {
		t.Error("Reopen onto a directory succeeded")
	}
	if _, err := l.Write([]byte("x\n")); err != nil {
		t.Errorf("write after a failed reopen: %v", err)
	}
}
