package get

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/journal"
)

// Reading the journal backwards: the first read is small, since a file a
// downloader wants was usually published recently and its record sits near
// the end; each further read doubles, up to maxChunk, so reaching a record
// far back costs few requests.
const (
	firstChunk = 64 << 10
	maxChunk   = 1 << 20
)

// DefaultMaxJournalBytes bounds the journal bytes one verification reads
// looking for a path's record.
const DefaultMaxJournalBytes = 1 << 30

// byteRanges reads byte ranges of one file (the journal).
type byteRanges interface {
	// Tail returns the last n bytes of the file, or all of it if it is
	// shorter, and the file's size.
	Tail(ctx context.Context, n int64) (data []byte, size int64, err error)
	// Range returns bytes off to off+n-1.
	Range(ctx context.Context, off, n int64) ([]byte, error)
}

// found is a path's latest record, proved line by line to be record index
// of the signed log.
type found struct {
	rec    journal.Record
	index  int64
	line   []byte // without its newline
	offset int64  // byte offset of the line in the journal
}

// A scanner reads a journal from its end backwards and checks every line it
// passes against the signed leaf hashes, so that the first line from the end
// naming a path is that path's latest record in the signed log.
type scanner struct {
	name     string // the journal's URL, for errors
	src      byteRanges
	leaf     func(i int64) (tlog.Hash, error) // signed leaf hash of record i
	n        int64                            // records the checkpoint covers
	chunk    int64                            // next read size
	maxChunk int64
	maxBytes int64 // journal bytes to read at most

	buf   []byte // unread bytes, ending just after a newline (or empty)
	start int64  // journal offset of buf[0]
	read  int64  // bytes fetched so far
	reads int    // requests made
}

func newScanner(name string, src byteRanges, leaf func(int64) (tlog.Hash, error), n, maxBytes int64) *scanner {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxJournalBytes
	}
	return &scanner{name: name, src: src, leaf: leaf, n: n, chunk: firstChunk, maxChunk: maxChunk, maxBytes: maxBytes}
}

// latest returns the latest record naming p among the n signed records.
// Lines after the n-th (left by a commit in progress, or by a publish after
// the checkpoint was read) are skipped. It returns an error wrapping
// ErrNotFound if no record names p.
func (s *scanner) latest(ctx context.Context, p string) (found, error) {
	if s.n <= 0 {
		return found{}, fmt.Errorf("%s: %w (0 records)", p, ErrNotFound)
	}
	if err := s.load(ctx); err != nil {
		return found{}, err
	}
	off, line, err := s.alignEnd(ctx)
	if err != nil {
		return found{}, err
	}
	for i := s.n - 1; ; i-- {
		rec, err := s.check(off, line, i)
		if err != nil {
			return found{}, err
		}
		if rec.Path == p {
			return found{rec: rec, index: i, line: bytes.Clone(line), offset: off}, nil
		}
		if i == 0 {
			return found{}, fmt.Errorf("%s: %w (%d records)", p, ErrNotFound, s.n)
		}
		off, line, err = s.prev(ctx)
		if errors.Is(err, io.EOF) {
			return found{}, fmt.Errorf("%s: first line is signed record %d: %d earlier records missing", s.name, i, i)
		}
		if err != nil {
			return found{}, err
		}
	}
}

// alignEnd finds the line of the last signed record, n-1: the first line
// from the end whose hash is that record's. Lines after it are not covered by
// the checkpoint and are skipped.
func (s *scanner) alignEnd(ctx context.Context) (int64, []byte, error) {
	want, err := s.leaf(s.n - 1)
	if err != nil {
		return 0, nil, err
	}
	for {
		off, line, err := s.prev(ctx)
		if errors.Is(err, io.EOF) {
			return 0, nil, fmt.Errorf("%s: no line matches signed record %d, the last the checkpoint covers", s.name, s.n-1)
		}
		if err != nil {
			return 0, nil, err
		}
		if tlog.RecordHash(line) == want {
			return off, line, nil
		}
	}
}

// check verifies that line, at byte offset off, is signed record i and
// parses it.
func (s *scanner) check(off int64, line []byte, i int64) (journal.Record, error) {
	want, err := s.leaf(i)
	if err != nil {
		return journal.Record{}, err
	}
	if tlog.RecordHash(line) != want {
		return journal.Record{}, fmt.Errorf("%s: byte %d: line does not match signed record %d", s.name, off, i)
	}
	rec, err := journal.ParseLine(line)
	if err != nil {
		return journal.Record{}, fmt.Errorf("%s: byte %d: record %d: %w", s.name, off, i, err)
	}
	return rec, nil
}

// load reads the journal's tail and drops a final partial line (an
// interrupted append), leaving buf at a line end.
func (s *scanner) load(ctx context.Context) error {
	data, size, err := s.src.Tail(ctx, s.chunk)
	if err != nil {
		return err
	}
	if int64(len(data)) > size {
		return fmt.Errorf("%s: tail of %d bytes from a journal of %d", s.name, len(data), size)
	}
	s.reads++
	s.read += int64(len(data))
	s.buf, s.start = data, size-int64(len(data))
	s.grow()
	for {
		if i := bytes.LastIndexByte(s.buf, '\n'); i >= 0 {
			s.buf = s.buf[:i+1]
			return nil
		}
		if s.start == 0 {
			s.buf = nil
			return nil
		}
		if len(s.buf) >= journal.MaxLineLen {
			return fmt.Errorf("%s: byte %d: last %d bytes hold no line end", s.name, s.start, len(s.buf))
		}
		if err := s.fill(ctx); err != nil {
			return err
		}
	}
}

// prev returns the line before the unread bytes' end and its byte offset,
// or io.EOF at the journal's start.
func (s *scanner) prev(ctx context.Context) (int64, []byte, error) {
	for {
		if len(s.buf) == 0 {
			if s.start == 0 {
				return 0, nil, io.EOF
			}
			// buf only empties at the journal's start; be safe anyway.
			return 0, nil, fmt.Errorf("%s: byte %d: no bytes buffered", s.name, s.start)
		}
		i := bytes.LastIndexByte(s.buf[:len(s.buf)-1], '\n')
		if i >= 0 || s.start == 0 {
			line := s.buf[i+1 : len(s.buf)-1]
			off := s.start + int64(i+1)
			s.buf = s.buf[:i+1]
			if len(line)+1 > journal.MaxLineLen {
				return 0, nil, fmt.Errorf("%s: byte %d: line of %d bytes exceeds %d", s.name, off, len(line)+1, journal.MaxLineLen)
			}
			return off, line, nil
		}
		if len(s.buf) > journal.MaxLineLen {
			return 0, nil, fmt.Errorf("%s: byte %d: line ending at byte %d exceeds %d bytes", s.name, s.start, s.start+int64(len(s.buf)), journal.MaxLineLen)
		}
		if err := s.fill(ctx); err != nil {
			return 0, nil, err
		}
	}
}

// fill prepends the chunk before the unread bytes.
func (s *scanner) fill(ctx context.Context) error {
	n := min(s.chunk, s.start)
	if s.read+n > s.maxBytes {
		return fmt.Errorf("%s: byte %d: record not found in the last %d bytes, the most a lookup may read", s.name, s.start, s.read)
	}
	data, err := s.src.Range(ctx, s.start-n, n)
	if err != nil {
		return err
	}
	if int64(len(data)) != n {
		return fmt.Errorf("%s: byte %d: read %d bytes, want %d", s.name, s.start-n, len(data), n)
	}
	s.reads++
	s.read += n
	buf := make([]byte, 0, n+int64(len(s.buf)))
	s.buf = append(append(buf, data...), s.buf...)
	s.start -= n
	s.grow()
	return nil
}

func (s *scanner) grow() { s.chunk = min(2*s.chunk, s.maxChunk) }
