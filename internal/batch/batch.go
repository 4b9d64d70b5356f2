// Package batch owns the batch answer: how a client asks a pando server for
// many files of a tree in one request, and how the answer frames them. A
// mirror sync of a large tree is mostly small files, and even pipelined,
// each file costs a request and a response of its own on both ends; a
// batch costs one of each for up to MaxPaths files, and the server sends
// each file straight after the one before.
//
// The format (docs/FORMAT.md, "Batch answers"), version 1:
//
//	request body:  "pando-batch 1\n", then one tree path per line (none:
//	               the client asks whether the server answers batches)
//	answer body:   per path, in the order asked:
//	               "ok <size>\n" and exactly size bytes: the file
//	               "no\n": not served (missing, not a regular file, refused)
//
// A batch is an optimization only: the client checks every file against
// the signed log as it would a file fetched alone, and anything a batch
// does not deliver (a "no", bytes that do not match, a broken answer) is
// fetched alone, which says what is wrong with it.
package batch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/pando-mirror/pando/internal/journal"
)

const (
	// Path is where a tree's server takes batch requests (POST), relative
	// to the tree's root URL.
	Path = journal.MetaDir + "/batch"
	// ContentType is the media type of an answer in this format.
	ContentType = "application/vnd.pando.batch.v1"
	// MaxPaths is the most paths one request may name.
	MaxPaths = 1024
	// MaxRequest bounds a request body: the header and MaxPaths paths of
	// the longest length.
	MaxRequest = len(header) + MaxPaths*(journal.MaxPathLen+1)

	header  = "pando-batch 1\n"
	maxLine = len("ok 18446744073709551615\n")
)

// AppendRequest appends the body of a request for paths to b.
func AppendRequest(b []byte, paths []string) []byte {
	b = append(b, header...)
	for _, p := range paths {
		b = append(b, p...)
		b = append(b, '\n')
	}
	return b
}

// ParseRequest returns the paths a request body names; a request that
// names none asks only whether the server answers batches. It refuses a body
// in another format or version, more than MaxPaths paths, and any path that
// could not name a published file (journal.CheckPath), naming the line.
func ParseRequest(body []byte) ([]string, error) {
	rest, ok := bytes.CutPrefix(body, []byte(header))
	if !ok {
		return nil, errors.New("batch request: does not start with " + strconv.Quote(header))
	}
	if len(rest) > 0 && rest[len(rest)-1] != '\n' {
		return nil, errors.New("batch request: last line does not end in a newline")
	}
	n := bytes.Count(rest, []byte{'\n'})
	if n > MaxPaths {
		return nil, fmt.Errorf("batch request: %d paths, at most %d", n, MaxPaths)
	}
	paths := make([]string, 0, n)
	for line := range bytes.Lines(rest) {
		p := string(line[:len(line)-1])
		if err := journal.CheckPath(p); err != nil {
			return nil, fmt.Errorf("batch request, line %d: %w", len(paths)+2, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// A Writer writes an answer's entries.
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// NewWriter returns a Writer that writes to w, which the caller flushes.
func NewWriter(w *bufio.Writer) *Writer { return &Writer{w: w} }

// File writes an entry holding size bytes read from r. If r holds fewer,
// the answer cannot be framed any more: the error says so, and the caller
// must end the answer short, so that the client sees it broken.
func (w *Writer) File(size int64, r io.Reader) error {
	w.buf = strconv.AppendInt(append(w.buf[:0], "ok "...), size, 10)
	w.buf = append(w.buf, '\n')
	if _, err := w.w.Write(w.buf); err != nil {
		return err
	}
	n, err := io.CopyN(w.w, r, size)
	if err != nil && n < size {
		return fmt.Errorf("batch entry of %d bytes: %d written: %w", size, n, err)
	}
	return nil
}

// Missing writes an entry for a path not served.
func (w *Writer) Missing() error {
	_, err := w.w.WriteString("no\n")
	return err
}

// A Reader reads an answer's entries in turn: Next moves to the next one,
// and Read reads the bytes of the current file.
type Reader struct {
	br   *bufio.Reader
	max  int64 // largest entry accepted
	left int64 // bytes of the current entry not yet read
	n    int   // entries read
}

// NewReader returns a Reader of the answer r that refuses entries larger
// than max bytes.
func NewReader(r io.Reader, max int64) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next moves to the next entry, skipping what is left of the current one,
// and returns its size, or ok false for a path not served. io.EOF means
// the answer ended where an entry would start; any other error means it is
// broken, and no entry after it can be read.
func (r *Reader) Next() (size int64, ok bool, err error) {
	if r.left > 0 {
		if _, err := r.br.Discard(int(min(r.left, math.MaxInt))); err != nil {
			return 0, false, r.broken(err)
		}
		r.left = 0
	}
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return 0, false, io.EOF
		}
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLine {
			return 0, false, fmt.Errorf("batch answer, entry %d: header line longer than %d bytes", r.n+1, maxLine)
		}
		return 0, false, r.broken(err)
	}
	r.n++
	if len(line) > maxLine {
		return 0, false, fmt.Errorf("batch answer, entry %d: header line longer than %d bytes", r.n, maxLine)
	}
	if string(line) == "no\n" {
		return 0, false, nil
	}
	digits, found := bytes.CutPrefix(line[:len(line)-1], []byte("ok "))
	size, perr := strconv.ParseInt(string(digits), 10, 64)
	if !found || perr != nil || size < 0 || (len(digits) > 1 && digits[0] == '0') {
		return 0, false, fmt.Errorf("batch answer, entry %d: bad header line %q", r.n, line)
	}
	if size > r.max {
		return 0, false, fmt.Errorf("batch answer, entry %d: %d bytes, more than the %d asked for at most", r.n, size, r.max)
	}
	r.left = size
	return size, true, nil
}

func (r *Reader) broken(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("batch answer, entry %d: %w", r.n+1, err)
}

// Read reads the current entry's bytes; it returns io.EOF at the entry's
// end and io.ErrUnexpectedEOF if the answer ends before it.
func (r *Reader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.br.Read(p)
	r.left -= int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return n, fmt.Errorf("batch answer, entry %d: %w", r.n, err)
	}
	return n, nil
}
