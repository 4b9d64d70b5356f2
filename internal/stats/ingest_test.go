package stats

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/safefile"
	"github.com/pando-mirror/pando/internal/store"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// storeSender delivers batches straight into a store, as the intake does.
type storeSender struct {
	st      store.Store
	batches []*Batch
	// fail, if set, is asked before and after delivering each batch; an
	// error it returns is the Send's.
	fail func(b *Batch, delivered bool) error
}

func (s *storeSender) Send(ctx context.Context, b *Batch) (bool, error) {
	if s.fail != nil {
		if err := s.fail(b, false); err != nil {
			return false, err
		}
	}
	if err := b.Check(testNow); err != nil {
		return false, err
	}
	dup, err := s.st.AddStats(ctx, storeBatch(b, testNow))
	if err != nil {
		return false, err
	}
	s.batches = append(s.batches, b)
	if s.fail != nil {
		if err := s.fail(b, true); err != nil {
			return false, err
		}
	}
	return dup, nil
}

// clf is a combined-format line for a request at minute m of 23 Nov 2026.
func clf(m int, method, target string, status int) string {
	return fmt.Sprintf(`192.0.2.%d - - [23/Nov/2026:10:%02d:00 +0000] "%s %s HTTP/1.1" %d 512 "-" "test/1"`+"\n",
		m%250+1, m%60, method, target, status)
}

func appendLog(t *testing.T, name string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
}

// downloads returns n download lines of path.
func downloads(n int, path string) []string {
	var out []string
	for i := range n {
		out = append(out, clf(i, "GET", "/"+path, 200))
	}
	return out
}

// noise is lines that count for nothing, garbage among them.
var noise = []string{
	clf(1, "HEAD", "/a.iso", 200),
	clf(2, "GET", "/a.iso", 404),
	clf(3, "GET", "/.pando/checkpoint", 200),
	clf(4, "GET", "/pool/", 200),
	"this is not a log line\n",
	"\x00\xff\xfe garbage \"\n",
	"\n",
}

type world struct {
	t      *testing.T
	dir    string
	log    string
	st     store.Store
	sender *storeSender
}

func newWorld(t *testing.T) *world {
	dir := t.TempDir()
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	return &world{t: t, dir: dir, log: filepath.Join(dir, "access.log"), st: st, sender: &storeSender{st: st}}
}

func (w *world) opts() IngestOptions {
	return IngestOptions{Log: w.log, Format: Combined, Mirror: "m1", Sender: w.sender,
		Now: func() time.Time { return testNow }}
}

func (w *world) ingest() IngestResult {
	w.t.Helper()
	res, err := Ingest(context.Background(), w.opts())
	if err != nil {
		w.t.Fatalf("Ingest: %v", err)
	}
	return res
}

// totals returns the downloads the store holds, by path.
func (w *world) totals() map[string]int64 {
	w.t.Helper()
	res, err := w.st.QueryStats(context.Background(), store.StatsQuery{From: "2000-01-01", To: "2100-01-01"})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, r := range res.Rows {
		out[r.Path] += r.Downloads
	}
	return out
}

func (w *world) wantTotals(want map[string]int64) {
	w.t.Helper()
	if got := w.totals(); !reflect.DeepEqual(got, want) {
		w.t.Errorf("totals %v, want %v", got, want)
	}
}

func TestStatsIngestIncremental(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, append(downloads(3, "a.iso"), noise...)...)
	res := w.ingest()
	if res.Downloads() != 3 || res.By[Malformed] != 3 || res.Lines != 10 || res.Batches != 1 {
		t.Errorf("first run: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 3})

	// A line being written (no newline yet) waits for the next run.
	appendLog(t, w.log, clf(5, "GET", "/b.iso", 200), strings.TrimSuffix(clf(6, "GET", "/b.iso", 200), "\n"))
	res = w.ingest()
	if res.Downloads() != 1 || res.Lines != 1 {
		t.Errorf("second run: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 3, "b.iso": 1})

	appendLog(t, w.log, "\n")
	w.ingest()
	w.wantTotals(map[string]int64{"a.iso": 3, "b.iso": 2})
	if res := w.ingest(); res.Lines != 0 || res.Batches != 0 {
		t.Errorf("a run with nothing new: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 3, "b.iso": 2})
}

// TestStatsIngestRotation: the log is renamed to log.1 and a new one
// started (logrotate's default, nginx reopening on USR1); the next run
// finishes log.1 from where it stopped, then reads the new log.
func TestStatsIngestRotation(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(2, "a.iso")...)
	w.ingest()
	appendLog(t, w.log, downloads(3, "a.iso")...) // after the last run, before the rotation
	if err := os.Rename(w.log, w.log+".1"); err != nil {
		t.Fatal(err)
	}
	appendLog(t, w.log, append(downloads(4, "b.iso"), noise...)...)
	res := w.ingest()
	if res.Gone || !reflect.DeepEqual(res.Files, []string{w.log + ".1", w.log}) || res.Downloads() != 7 {
		t.Errorf("run after rotation: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 5, "b.iso": 4})

	// Two rotations between runs: log.2 is finished, log.1 read whole.
	appendLog(t, w.log, downloads(1, "b.iso")...)
	os.Rename(w.log+".1", w.log+".2")
	os.Rename(w.log, w.log+".1")
	appendLog(t, w.log+".1", downloads(2, "c.iso")...) // written before the second rotation
	os.Rename(w.log+".1", w.log+".2.tmp")
	os.Rename(w.log+".2", w.log+".3")
	os.Rename(w.log+".2.tmp", w.log+".2")
	appendLog(t, w.log+".1", downloads(6, "d.iso")...)
	appendLog(t, w.log, downloads(1, "e.iso")...)
	res = w.ingest()
	if want := []string{w.log + ".2", w.log + ".1", w.log}; !reflect.DeepEqual(res.Files, want) || res.Gone {
		t.Errorf("files read %v (gone %v), want %v", res.Files, res.Gone, want)
	}
	w.wantTotals(map[string]int64{"a.iso": 5, "b.iso": 5, "c.iso": 2, "d.iso": 6, "e.iso": 1})
	if res := w.ingest(); res.Lines != 0 {
		t.Errorf("a run with nothing new read %d lines", res.Lines)
	}
}

// TestStatsIngestCopyTruncate: logrotate's copytruncate copies the log to
// log.1 and truncates it; the copy is recognised by its first bytes.
func TestStatsIngestCopyTruncate(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(2, "a.iso")...)
	w.ingest()
	appendLog(t, w.log, downloads(3, "a.iso")...)
	data, err := os.ReadFile(w.log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.log+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(w.log, 0); err != nil {
		t.Fatal(err)
	}
	appendLog(t, w.log, downloads(1, "b.iso")...)
	res := w.ingest()
	if res.Gone || len(res.Files) != 2 {
		t.Errorf("run after copytruncate: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 5, "b.iso": 1})
}

// TestStatsIngestTruncated: a log truncated in place with no copy is read
// from its start; what it held past the offset is reported lost.
func TestStatsIngestTruncated(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(4, "a.iso")...)
	w.ingest()
	if err := os.Truncate(w.log, 0); err != nil {
		t.Fatal(err)
	}
	appendLog(t, w.log, downloads(1, "b.iso")...)
	res := w.ingest()
	if !res.Gone || res.Downloads() != 1 {
		t.Errorf("run after truncation: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 4, "b.iso": 1})

	// Replaced by a longer file with other contents: read from its start.
	os.Remove(w.log)
	appendLog(t, w.log, downloads(9, "c.iso")...)
	res = w.ingest()
	if !res.Gone || res.Downloads() != 9 {
		t.Errorf("run after replacement: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 4, "b.iso": 1, "c.iso": 9})
}

// TestStatsIngestLostAnswer: the hub stores a batch but its answer is lost
// (or the run dies before saving the offset). The next run sends the same
// bytes under the same ID, even though the log grew, and nothing is
// counted twice.
func TestStatsIngestLostAnswer(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(3, "a.iso")...)
	w.sender.fail = func(b *Batch, delivered bool) error {
		if delivered {
			return errors.New("connection reset")
		}
		return nil
	}
	if _, err := Ingest(context.Background(), w.opts()); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("Ingest with a lost answer: %v", err)
	}
	st, _, err := loadState(w.log + ".pando-stats")
	if err != nil || st.Pending == nil || st.Offset != 0 {
		t.Fatalf("state after the lost answer: %+v, %v", st, err)
	}
	firstID := w.sender.batches[0].BatchID

	w.sender.fail = nil
	appendLog(t, w.log, downloads(2, "b.iso")...)
	res := w.ingest()
	if res.Batches != 2 || res.Duplicates != 1 || w.sender.batches[1].BatchID != firstID {
		t.Errorf("rerun: %+v; IDs %s then %s", res, firstID, w.sender.batches[1].BatchID)
	}
	w.wantTotals(map[string]int64{"a.iso": 3, "b.iso": 2})
}

// TestStatsIngestNotDelivered: a batch that never reached the hub is sent
// by the next run.
func TestStatsIngestNotDelivered(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(3, "a.iso")...)
	w.sender.fail = func(b *Batch, delivered bool) error { return errors.New("hub down") }
	if _, err := Ingest(context.Background(), w.opts()); err == nil {
		t.Fatal("Ingest with the hub down succeeded")
	}
	w.wantTotals(map[string]int64{})
	w.sender.fail = nil
	if res := w.ingest(); res.Duplicates != 0 || res.Downloads() != 3 {
		t.Errorf("rerun: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 3})
}

// TestStatsIngestBatches: counts are sent whenever MaxCounts of them are
// held, so memory stays bounded; the totals are the same.
func TestStatsIngestBatches(t *testing.T) {
	w := newWorld(t)
	var lines []string
	want := map[string]int64{}
	for i := range 50 {
		p := fmt.Sprintf("f%02d.jar", i%17)
		lines = append(lines, clf(i, "GET", "/"+p, 200))
		want[p]++
	}
	appendLog(t, w.log, lines...)
	o := w.opts()
	o.MaxCounts = 3
	res, err := Ingest(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range w.sender.batches {
		if len(b.Counts) > 3 {
			t.Errorf("batch of %d counts, more than 3", len(b.Counts))
		}
	}
	if res.Batches < 17 {
		t.Errorf("%d batches, want at least 17", res.Batches)
	}
	w.wantTotals(want)
}

func TestStatsIngestLongLine(t *testing.T) {
	w := newWorld(t)
	long := `h - - [23/Nov/2026:10:00:00 +0000] "GET /` + strings.Repeat("x", 300<<10) + ` HTTP/1.1" 200 1 "-" "-"` + "\n"
	appendLog(t, w.log, downloads(1, "a.iso")[0], long, downloads(1, "b.iso")[0])
	res := w.ingest()
	if res.By[Malformed] != 1 || res.Downloads() != 2 {
		t.Errorf("%+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 1, "b.iso": 1})
}

func TestStatsIngestLocked(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(1, "a.iso")...)
	lock, err := safefile.TryLock(w.log+".pando-stats.lock", "another run")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if _, err := Ingest(context.Background(), w.opts()); !errors.Is(err, safefile.ErrLocked) {
		t.Errorf("Ingest while locked: %v", err)
	}
	o := w.opts()
	o.DryRun = true
	if res, err := Ingest(context.Background(), o); err != nil || res.Downloads() != 1 {
		t.Errorf("dry run while locked: %+v, %v", res, err)
	}
}

func TestStatsIngestDryRun(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(2, "a.iso")...)
	o := w.opts()
	o.DryRun = true
	for range 2 {
		if res, err := Ingest(context.Background(), o); err != nil || res.Downloads() != 2 {
			t.Errorf("dry run: %+v, %v", res, err)
		}
	}
	if _, err := os.Stat(w.log + ".pando-stats"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run wrote the state file: %v", err)
	}
}

func TestStatsIngestBadState(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log, downloads(1, "a.iso")...)
	for _, bad := range []string{
		`{"version": 2}`,
		`{"version": 1, "offset": -1}`,
		`{"version": 1, "head_len": 10, "head_sha256": "xyz"}`,
		`{"version": 1, "offset": 5, "pending": {"start": 0, "end": 9, "batch_id": "x"}}`,
		`{"version": 1, "surprise": true}`,
		`not json`,
	} {
		os.WriteFile(w.log+".pando-stats", []byte(bad), 0o644)
		_, err := Ingest(context.Background(), w.opts())
		if err == nil || !strings.Contains(err.Error(), "remove it to read the log from its start again") {
			t.Errorf("state %s: %v", bad, err)
		}
	}
	w.wantTotals(map[string]int64{})
}

func TestStatsIngestOptions(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		edit func(*IngestOptions)
		want string
	}{
		{func(o *IngestOptions) { o.Log = "" }, "ingest: no log file"},
		{func(o *IngestOptions) { o.Format = 0 }, "ingest: no log format"},
		{func(o *IngestOptions) { o.Mirror = "Bad Name" }, `ingest: mirror name "Bad Name": want lowercase letters, digits and dashes`},
		{func(o *IngestOptions) { o.Sender = nil }, "ingest: no sender"},
		{func(o *IngestOptions) {}, "log: open " + w.log + ": no such file or directory"},
	} {
		o := w.opts()
		tt.edit(&o)
		if _, err := Ingest(context.Background(), o); err == nil || err.Error() != tt.want {
			t.Errorf("Ingest: %v, want %s", err, tt.want)
		}
	}
}

// TestStatsIngestEmptyThenRotated: a run that found the log empty knows it
// by its inode alone; when that file fills and is rotated before the next
// run, the rotated file is still read.
func TestStatsIngestEmptyThenRotated(t *testing.T) {
	w := newWorld(t)
	appendLog(t, w.log)
	if res := w.ingest(); res.Lines != 0 {
		t.Fatalf("an empty log: %+v", res)
	}
	appendLog(t, w.log, downloads(3, "a.iso")...)
	os.Rename(w.log, w.log+".1")
	appendLog(t, w.log, downloads(1, "b.iso")...)
	if res := w.ingest(); res.Gone || len(res.Files) != 2 {
		t.Errorf("run after the rotation: %+v", res)
	}
	w.wantTotals(map[string]int64{"a.iso": 3, "b.iso": 1})
}
