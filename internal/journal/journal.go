// Package journal owns the record format of pando's signed log: one line per
// change to a published tree, and the replay of those lines into the tree's
// live state.
//
// # Format (pando journal v1)
//
// The journal is a sequence of records, each a single line of ASCII-safe
// UTF-8 ending in "\n". The first word names the kind; the fields are
// separated by exactly one space:
//
//	file <time> <path> <size> <mtime> <sha256>
//	symlink <time> <path> <mtime> <target>
//	remove <time> <path>
//
// time is when the origin published the record and mtime the file's
// modification time, both in whole seconds since the Unix epoch. size is the
// file's length in bytes, sha256 the lowercase hex SHA-256 of its contents.
// Numbers are plain decimal with no sign and no leading zeros.
//
// A path (and a symlink target) is written with exactly two escapes, "%25"
// for "%" and "%20" for a space; every other byte stands for itself and any
// other "%" sequence is refused. A file record adds the path or replaces what
// it named; a remove record deletes it. A rename is a remove and a file.
//
// For example:
//
//	file 1700000000 pool/a%20b.jar 1024 1699999000 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	symlink 1700000000 latest.jar 1699999000 pool/a%20b.jar
//	remove 1700000500 pool/a%20b.jar
//
// Every state has exactly one encoding: Parse refuses any line that Append
// would not have written byte for byte. The leaf hash of record i in the
// Merkle tree (golang.org/x/mod/sumdb/tlog) is tlog.RecordHash of its line
// without the final newline.
//
// A breaking change to this format changes the version named in the first
// line of the checkpoint (package checkpoint), which covers the journal.
package journal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Limits on what a parser accepts. They bound the memory and time any input
// can cost, and they are part of the format: a publisher refuses to write what
// a parser would refuse to read.
const (
	MaxPathLen    = 1024      // bytes in a path or symlink target, unescaped
	MaxSegmentLen = 255       // bytes in one path segment
	MaxDepth      = 64        // segments in a path
	MaxLineLen    = 8192      // bytes in a record line, with its newline
	MaxRecords    = 1 << 32   // records in one journal
	maxTime       = 1<<53 - 1 // seconds; keeps times exact in JSON numbers
)

// Kind says what a record does to its path.
type Kind uint8

const (
	File    Kind = iota + 1 // the path now names a regular file
	Symlink                 // the path now names a symbolic link
	Remove                  // the path names nothing any more
)

func (k Kind) String() string {
	switch k {
	case File:
		return "file"
	case Symlink:
		return "symlink"
	case Remove:
		return "remove"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// A Record is one change to the published tree.
type Record struct {
	Kind   Kind
	Time   int64    // publication time, Unix seconds
	Path   string   // slash-separated, relative, see CheckPath
	Size   int64    // File only
	MTime  int64    // File and Symlink: modification time, Unix seconds
	SHA256 [32]byte // File only
	Target string   // Symlink only: the link's target, see CheckTarget
}

// AppendLine appends the record's canonical line, with its newline, to b.
// It returns an error, and b unchanged, if the record is not valid.
func AppendLine(b []byte, r *Record) ([]byte, error) {
	if err := r.check(); err != nil {
		return b, err
	}
	return appendLine(b, r), nil
}

func appendLine(b []byte, r *Record) []byte {
	b = append(b, r.Kind.String()...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.Time, 10)
	b = append(b, ' ')
	b = appendEscaped(b, r.Path)
	switch r.Kind {
	case File:
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.Size, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.MTime, 10)
		b = append(b, ' ')
		b = hex.AppendEncode(b, r.SHA256[:])
	case Symlink:
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.MTime, 10)
		b = append(b, ' ')
		b = appendEscaped(b, r.Target)
	}
	return append(b, '\n')
}

// check reports whether r can be written.
func (r *Record) check() error {
	if err := CheckPath(r.Path); err != nil {
		return err
	}
	if r.Time < 0 || r.Time > maxTime {
		return fmt.Errorf("path %q: time %d out of range", r.Path, r.Time)
	}
	switch r.Kind {
	case File:
		if r.Size < 0 {
			return fmt.Errorf("path %q: negative size", r.Path)
		}
		if r.MTime < 0 || r.MTime > maxTime {
			return fmt.Errorf("path %q: mtime %d out of range", r.Path, r.MTime)
		}
	case Symlink:
		if r.MTime < 0 || r.MTime > maxTime {
			return fmt.Errorf("path %q: mtime %d out of range", r.Path, r.MTime)
		}
		if err := CheckTarget(r.Path, r.Target); err != nil {
			return err
		}
	case Remove:
	default:
		return fmt.Errorf("path %q: unknown record kind %d", r.Path, r.Kind)
	}
	if n := len(appendLine(nil, r)); n > MaxLineLen {
		return fmt.Errorf("path %q: record line of %d bytes exceeds %d", r.Path, n, MaxLineLen)
	}
	return nil
}

// ParseLine parses one record line, without its newline. It accepts exactly
// the lines AppendLine writes.
func ParseLine(line []byte) (Record, error) {
	var r Record
	if len(line) >= MaxLineLen {
		return r, fmt.Errorf("line of %d bytes exceeds %d", len(line)+1, MaxLineLen)
	}
	f := bytes.Split(line, []byte{' '})
	var want int
	switch string(f[0]) {
	case "file":
		r.Kind, want = File, 6
	case "symlink":
		r.Kind, want = Symlink, 5
	case "remove":
		r.Kind, want = Remove, 3
	default:
		return r, fmt.Errorf("unknown record kind %q", truncate(f[0]))
	}
	if len(f) != want {
		return r, fmt.Errorf("%s record has %d fields, want %d", r.Kind, len(f), want)
	}
	var err error
	if r.Time, err = parseInt("time", f[1]); err != nil {
		return r, err
	}
	if r.Path, err = unescape("path", f[2]); err != nil {
		return r, err
	}
	switch r.Kind {
	case File:
		if r.Size, err = parseInt("size", f[3]); err != nil {
			return r, err
		}
		if r.MTime, err = parseInt("mtime", f[4]); err != nil {
			return r, err
		}
		if len(f[5]) != 64 {
			return r, fmt.Errorf("sha256 %q is not 64 hex digits", truncate(f[5]))
		}
		if bytes.ContainsFunc(f[5], func(c rune) bool { return (c < '0' || c > '9') && (c < 'a' || c > 'f') }) {
			return r, fmt.Errorf("sha256 %q is not lowercase hex", truncate(f[5]))
		}
		hex.Decode(r.SHA256[:], f[5])
	case Symlink:
		if r.MTime, err = parseInt("mtime", f[3]); err != nil {
			return r, err
		}
		if r.Target, err = unescape("target", f[4]); err != nil {
			return r, err
		}
	}
	if err := r.check(); err != nil {
		return r, err
	}
	if !bytes.Equal(appendLine(nil, &r), append(line, '\n')) {
		return r, errors.New("record is not in canonical form")
	}
	return r, nil
}

// parseInt parses a canonical non-negative decimal number.
func parseInt(field string, b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 19 || (len(b) > 1 && b[0] == '0') || b[0] < '0' || b[0] > '9' {
		return 0, fmt.Errorf("%s %q is not a canonical decimal number", field, truncate(b))
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q is not a canonical decimal number", field, truncate(b))
	}
	return n, nil
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b = append(b, "%25"...)
		case ' ':
			b = append(b, "%20"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func unescape(field string, b []byte) (string, error) {
	if bytes.IndexByte(b, '%') < 0 {
		return string(b), nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '%' {
			out = append(out, b[i])
			continue
		}
		switch {
		case bytes.HasPrefix(b[i:], []byte("%25")):
			out = append(out, '%')
		case bytes.HasPrefix(b[i:], []byte("%20")):
			out = append(out, ' ')
		default:
			return "", fmt.Errorf("%s %q has an escape other than %%20 or %%25", field, truncate(b))
		}
		i += 2
	}
	return string(out), nil
}

// truncate shortens hostile input before it is quoted in an error.
func truncate(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
