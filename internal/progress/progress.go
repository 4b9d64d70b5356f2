// Package progress owns how long operations tell a person how far they have
// come: a one-line bar redrawn in place on a terminal, or a structured log
// line every few seconds when the output is not a terminal.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Meter counts work done against a known total. It is safe for concurrent
// use; library code takes a *Meter and calls Add as it goes. A nil *Meter
// does nothing.
type Meter struct {
	label string
	total atomic.Int64
	done  atomic.Int64
	items atomic.Int64
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
	draw  func(final bool)
}

// SetTotal sets the amount of work (bytes) expected.
func (m *Meter) SetTotal(n int64) {
	if m != nil {
		m.total.Store(n)
	}
}

// Add records n more bytes done.
func (m *Meter) Add(n int64) {
	if m != nil {
		m.done.Add(n)
	}
}

// Item records one more item (file, object) finished.
func (m *Meter) Item() {
	if m != nil {
		m.items.Add(1)
	}
}

// Close stops the meter and draws its final state.
func (m *Meter) Close() {
	if m == nil {
		return
	}
	m.once.Do(func() {
		close(m.stop)
		m.wg.Wait()
		m.draw(true)
	})
}

// Start returns a running meter. On a terminal (tty true) it redraws a bar on
// w ten times a second; otherwise it logs to log every interval.
func Start(label string, w io.Writer, tty bool, log *slog.Logger, interval time.Duration) *Meter {
	m := &Meter{label: label, start: time.Now(), stop: make(chan struct{})}
	every := interval
	if tty {
		every = 100 * time.Millisecond
		m.draw = func(final bool) { m.drawBar(w, final) }
	} else {
		m.draw = func(final bool) { m.logLine(log, final) }
	}
	m.run(every)
	return m
}

// StartLog returns a running meter for a service: it logs to log every
// interval, and at the end only if it logged before, so a task shorter
// than one interval (a sync that found nothing new) adds no line to the
// service's own summary of it.
func StartLog(label string, log *slog.Logger, interval time.Duration) *Meter {
	m := &Meter{label: label, start: time.Now(), stop: make(chan struct{})}
	var logged atomic.Bool
	m.draw = func(final bool) {
		if !final || logged.Load() {
			m.logLine(log, final)
			logged.Store(true)
		}
	}
	m.run(interval)
	return m
}

// run draws the meter every interval until it is closed.
func (m *Meter) run(every time.Duration) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.draw(false)
			}
		}
	}()
}

func (m *Meter) drawBar(w io.Writer, final bool) {
	done, total := m.done.Load(), m.total.Load()
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	secs := time.Since(m.start).Seconds()
	rate := float64(done) / max(secs, 0.001)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(w, "\r%s [%s] %3.0f%% %s/%s %s/s %d files%s\x1b[K", m.label, bar, frac*100,
		Bytes(done), Bytes(total), Bytes(int64(rate)), m.items.Load(), end)
}

func (m *Meter) logLine(log *slog.Logger, final bool) {
	if log == nil {
		return
	}
	msg := "progress"
	if final {
		msg = "finished"
	}
	log.Info(msg, "task", m.label, "bytes", m.done.Load(), "total_bytes", m.total.Load(),
		"items", m.items.Load(), "seconds", time.Since(m.start).Seconds())
}

// Bytes formats n as a short human size (1.5 MB).
func Bytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
