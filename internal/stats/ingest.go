package stats

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pando-mirror/pando/internal/progress"
	"github.com/pando-mirror/pando/internal/safefile"
)

// A Sender delivers a batch to the hub. It returns duplicate true when the
// hub had counted a batch with the same ID before.
type Sender interface {
	Send(ctx context.Context, b *Batch) (duplicate bool, err error)
}

// IngestOptions say what Ingest reads and where it reports.
type IngestOptions struct {
	Log          string // the access log; its rotated generations are Log.1 to Log.9
	State        string // the state file; "" for Log + ".pando-stats"
	Format       Format
	CountPartial bool   // count 206 answers (see Parser.CountPartial)
	Mirror       string // the mirror reporting, as named in the hub's registry
	Sender       Sender
	// DryRun hands the batches to Sender but saves no state and takes no
	// lock: the next run reads the same lines again.
	DryRun bool

	Now       func() time.Time // for the days accepted; nil for time.Now
	Meter     *progress.Meter  // bytes read against bytes to read; may be nil
	Logger    *slog.Logger     // may be nil
	MaxCounts int              // distinct day and path pairs per batch; 0 for DefaultMaxCounts
}

// DefaultMaxCounts bounds the counts an ingest holds in memory and sends
// in one batch.
const DefaultMaxCounts = 20_000

// maxBatchEstimate bounds the estimated JSON of one batch, well below what
// the hub accepts.
const maxBatchEstimate = MaxBatchBytes / 2

// An IngestResult says what Ingest read and sent.
type IngestResult struct {
	Tally
	Files      []string // files read from, in order
	Bytes      int64    // bytes read
	Batches    int      // batches sent and acknowledged
	Duplicates int      // of those, how many the hub had counted before
	// Gone is set when the file read last time was found neither as the log
	// nor as a rotated generation: what it had past the saved offset was
	// not counted.
	Gone bool
}

// Ingest reads the log from where the last run stopped and sends what it
// found to the hub in batches, saving the new position after each batch
// the hub acknowledged. If the log was rotated since the last run, the
// rotated file (Log.1 or an older generation still uncompressed) is read
// to its end first; if it was truncated or replaced, reading starts over
// at its beginning. A second Ingest on the same state file fails at once.
func Ingest(ctx context.Context, o IngestOptions) (IngestResult, error) {
	if err := o.setDefaults(); err != nil {
		return IngestResult{}, err
	}
	if !o.DryRun {
		lock, err := safefile.TryLock(o.State+".lock", "pando stats ingest")
		if err != nil {
			return IngestResult{}, fmt.Errorf("state file: %w", err)
		}
		defer lock.Unlock()
	}
	st, found, err := loadState(o.State)
	if err != nil {
		return IngestResult{}, err
	}
	cur, err := openLog(o.Log)
	if err != nil {
		return IngestResult{}, fmt.Errorf("log: %w", err)
	}
	defer cur.close()
	if !found {
		st = cur.fresh()
	}
	in := newIngester(o)
	err = in.run(ctx, cur, st)
	return in.res, err
}

func (o *IngestOptions) setDefaults() error {
	switch {
	case o.Log == "":
		return errors.New("ingest: no log file")
	case o.Format != Combined && o.Format != Common:
		return errors.New("ingest: no log format")
	case !ValidMirrorName(o.Mirror):
		return fmt.Errorf("ingest: mirror name %q: want lowercase letters, digits and dashes", o.Mirror)
	case o.Sender == nil:
		return errors.New("ingest: no sender")
	}
	if o.State == "" {
		o.State = o.Log + ".pando-stats"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxCounts <= 0 || o.MaxCounts > MaxBatchCounts {
		o.MaxCounts = DefaultMaxCounts
	}
	return nil
}

// An ingester is one run of Ingest.
type ingester struct {
	o      IngestOptions
	parser Parser
	counts *counts
	rd     *bufio.Reader
	res    IngestResult
	total  int64 // bytes to read, for the meter
}

func newIngester(o IngestOptions) *ingester {
	first, last := SaneDays(o.Now())
	return &ingester{
		o:      o,
		parser: Parser{Format: o.Format, CountPartial: o.CountPartial, First: first, Last: last},
		counts: newCounts(),
		rd:     bufio.NewReaderSize(nil, 256<<10),
	}
}

// run reads from the file st names on: the current log, or a rotated
// generation and then every newer one up to the current log.
func (in *ingester) run(ctx context.Context, cur *logFile, st State) error {
	for range maxRotations + 2 {
		ok, err := cur.continues(&st, true)
		if err != nil {
			return err
		}
		if ok {
			return in.readFile(ctx, cur, &st, false)
		}
		old, k, err := findRotated(in.o.Log, &st)
		if err != nil {
			return err
		}
		if old == nil {
			in.res.Gone = true
			in.o.Logger.Warn("the log file read last time is gone (not found as the log or an uncompressed rotated file); reading the log from its start",
				"log", in.o.Log, "lost_from_offset", st.Offset)
			st = cur.fresh()
			continue
		}
		in.o.Logger.Info("finishing the rotated log first", "file", old.name, "offset", st.Offset)
		err = in.readFile(ctx, old, &st, true)
		old.close()
		if err != nil {
			return err
		}
		if st, err = in.next(cur, k); err != nil {
			return err
		}
	}
	return fmt.Errorf("log %s: rotated more than %d times while being read", in.o.Log, maxRotations)
}

// next returns the state of having read nothing of the generation after k
// (the log itself after generation 1), and saves it.
func (in *ingester) next(cur *logFile, k int) (State, error) {
	l := cur
	if k > 1 {
		var err error
		if l, err = openLog(rotatedName(in.o.Log, k-1)); err != nil {
			return State{}, fmt.Errorf("log: %w", err)
		}
		defer l.close()
	}
	st := l.fresh()
	return st, in.save(st)
}

// readFile reports l from st's offset to its end: first the pending batch
// as it was, then the rest in batches of at most MaxCounts counts. The last
// line of a final file (a rotated one) counts even without its newline.
func (in *ingester) readFile(ctx context.Context, l *logFile, st *State, final bool) error {
	in.res.Files = append(in.res.Files, l.name)
	l.identify(st)
	in.total += l.size - st.Offset
	in.o.Meter.SetTotal(in.total)
	if p := st.Pending; p != nil {
		if _, err := in.scan(ctx, l, p.Start, p.End, true, false); err != nil {
			return err
		}
		if err := in.commit(ctx, l, st, p.End, p.BatchID); err != nil {
			return err
		}
	}
	for {
		end, err := in.scan(ctx, l, st.Offset, l.size, final, true)
		if err != nil {
			return err
		}
		more := in.full() // scan stopped for a full batch, not at the end
		if err := in.commit(ctx, l, st, end, ""); err != nil {
			return err
		}
		if !more {
			return in.save(*st)
		}
	}
}

// full reports whether the counts held make a whole batch.
func (in *ingester) full() bool {
	return in.counts.len() >= in.o.MaxCounts || in.counts.size >= maxBatchEstimate
}

// scan parses the lines of l from start, stopping at end, before a last
// line without its newline unless final, or (if bounded) after the line
// that makes the counts full. It returns where it stopped.
func (in *ingester) scan(ctx context.Context, l *logFile, start, end int64, final, bounded bool) (int64, error) {
	in.rd.Reset(io.NewSectionReader(l.f, start, end-start))
	pos, unmetered := start, int64(0)
	defer func() { in.o.Meter.Add(unmetered); in.res.Bytes += pos - start }()
	for n := 0; ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return pos, ctx.Err()
		}
		line, size, complete, err := in.readLine()
		if err != nil {
			return pos, fmt.Errorf("reading %s: %w", l.name, err)
		}
		if size == 0 || !complete && !final {
			return pos, nil
		}
		pos += size
		if unmetered += size; unmetered >= 1<<20 {
			in.o.Meter.Add(unmetered)
			unmetered = 0
		}
		in.line(line)
		if bounded && in.full() {
			return pos, nil
		}
	}
}

// readLine returns the next line without its newline, the bytes it took
// (with the newline), and whether it had one. A line longer than the
// reader's buffer is skipped to its end and returned empty, so that it
// counts as malformed. At the end it returns size 0.
func (in *ingester) readLine() (line []byte, size int64, complete bool, err error) {
	line, err = in.rd.ReadSlice('\n')
	size = int64(len(line))
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			var more []byte
			more, err = in.rd.ReadSlice('\n')
			size += int64(len(more))
		}
		line = nil
	}
	switch {
	case err == nil:
		return trimNewline(line), size, true, nil
	case errors.Is(err, io.EOF):
		return line, size, false, nil
	}
	return nil, 0, false, err
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// line counts one log line.
func (in *ingester) line(b []byte) {
	d, path, o := in.parser.Line(b)
	in.res.Add(o)
	if o == Download {
		in.counts.add(d, path)
	}
}

// commit reports the counts held, which cover st's offset to end, as one
// batch (under id, or a new ID if empty), and moves st to end. The batch is
// written to the state as pending before it is sent.
func (in *ingester) commit(ctx context.Context, l *logFile, st *State, end int64, id string) error {
	start := st.Offset
	if in.counts.len() == 0 {
		st.Offset, st.Pending = end, nil
		return nil
	}
	if id == "" {
		id = batchID(in.o.Mirror, st, start, end)
	}
	st.Pending = &Pending{Start: start, End: end, BatchID: id}
	if err := in.save(*st); err != nil {
		return err
	}
	b := &Batch{Mirror: in.o.Mirror, BatchID: id, Counts: in.counts.take()}
	dup, err := in.o.Sender.Send(ctx, b)
	if err != nil {
		return fmt.Errorf("sending batch %s (bytes %d to %d of %s): %w", id, start, end, l.name, err)
	}
	in.res.Batches++
	if dup {
		in.res.Duplicates++
	}
	st.Offset, st.Pending = end, nil
	return in.save(*st)
}

func (in *ingester) save(st State) error {
	if in.o.DryRun {
		return nil
	}
	return saveState(in.o.State, st)
}

// batchID names the batch of the bytes start to end of the file st names,
// reported by mirror. The same bytes of the same file get the same ID.
func batchID(mirror string, st *State, start, end int64) string {
	h := sha256.New()
	fmt.Fprintf(h, "pando stats batch v1\n%s\n%d %d %d %s\n", mirror, st.Dev, st.Inode, st.HeadLen, st.HeadSHA256)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(start))
	binary.BigEndian.PutUint64(b[8:], uint64(end))
	h.Write(b[:])
	return "v1-" + hex.EncodeToString(h.Sum(nil)[:20])
}
