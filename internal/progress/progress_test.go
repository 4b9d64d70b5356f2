package progress

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
)

func TestStartLogQuietForShortTasks(t *testing.T) {
	var out buftest.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	m := StartLog("syncing", log, time.Hour)
	m.Add(10)
	m.Close()
	if out.String() != "" {
		t.Errorf("a task shorter than one interval logged:\n%s", out.String())
	}

	m = StartLog("syncing", log, 10*time.Millisecond)
	m.SetTotal(100)
	m.Add(40)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "msg=progress"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no progress line within 5 s at a 10 ms interval")
		}
	}
	m.Add(60)
	m.Close()
	text := out.String()
	if !strings.Contains(text, "msg=progress task=syncing") || !strings.Contains(text, "msg=finished task=syncing bytes=100 total_bytes=100") {
		t.Errorf("a long task's log:\n%s", text)
	}
}

func TestStartLogsTheEnd(t *testing.T) {
	var out buftest.Buffer
	m := Start("hashing", &out, false, slog.New(slog.NewTextHandler(&out, nil)), time.Hour)
	m.Add(5)
	m.Item()
	m.Close()
	if !strings.Contains(out.String(), "msg=finished task=hashing bytes=5 total_bytes=0 items=1") {
		t.Errorf("Start without a terminal logged:\n%s", out.String())
	}
}
