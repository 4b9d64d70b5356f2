package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on an rsync listing (and an FTP one), so a hostile server cannot
// exhaust memory.
const (
	maxListEntries = 10_000_000
	maxListLine    = 16 << 10 // a path of maxPathLen bytes, escaped, and the fields
	maxListBytes   = 2 << 30
)

// parseListing reads the output of "rsync --list-only -r" run with LC_ALL=C
// and returns the regular files in it, their paths relative to the listed
// directory. Lines look like
//
//	-rw-r--r--          1,234 2024/01/02 03:04:05 path/to/file
//
// with a type letter first ('-' a file, 'd' a directory, 'l' a link, others
// devices, sockets and FIFOs, all skipped), the size with thousands
// separators, and the path as rsync escapes it (\#ooo for bytes it will not
// print). Files whose path no object can have (see checkPath) are skipped.
// Any other line is an error naming its number.
func parseListing(r io.Reader) ([]Stat, error) {
	lr := &io.LimitedReader{R: r, N: maxListBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	var out []Stat
	for n := 1; ; n++ {
		line, err := readLine(br)
		if lr.N <= 0 {
			return nil, fmt.Errorf("listing longer than %d bytes: %w", maxListBytes, ErrProtocol)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing line %d: %w", n, err)
		}
		st, ok, err := parseListLine(line)
		if err != nil {
			return nil, fmt.Errorf("listing line %d: %w", n, err)
		}
		if !ok {
			continue
		}
		if len(out) >= maxListEntries {
			return nil, fmt.Errorf("listing has more than %d files: %w", maxListEntries, ErrProtocol)
		}
		out = append(out, st)
	}
}

// readLine reads one line of at most maxListLine bytes, without its "\n".
func readLine(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		frag, err := br.ReadSlice('\n')
		if b.Len()+len(frag) > maxListLine+1 {
			return "", fmt.Errorf("%w: longer than %d bytes", ErrProtocol, maxListLine)
		}
		b.Write(frag)
		switch {
		case err == nil:
			return strings.TrimSuffix(b.String(), "\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && b.Len() > 0:
			return "", fmt.Errorf("%w: last line not terminated", ErrProtocol)
		default:
			return "", err
		}
	}
}

// parseListLine parses one listing line; ok is false for a line that is
// not a regular file.
func parseListLine(line string) (Stat, bool, error) {
	perms, rest, ok1 := strings.Cut(line, " ")
	rest = strings.TrimLeft(rest, " ")
	size, rest, ok2 := strings.Cut(rest, " ")
	date, rest, ok3 := strings.Cut(rest, " ")
	clock, name, ok4 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !ok3 || !ok4 || len(perms) < 10 || !validDate(date, clock) || name == "" {
		return Stat{}, false, fmt.Errorf("%w: not an rsync listing line: %.100q", ErrProtocol, line)
	}
	n, err := parseSize(size)
	if err != nil {
		return Stat{}, false, fmt.Errorf("%w: size %q in %.100q", ErrProtocol, size, line)
	}
	if perms[0] != '-' {
		return Stat{}, false, nil
	}
	path, err := unescapeRsync(name)
	if err != nil {
		return Stat{}, false, fmt.Errorf("%w: %w in %.100q", ErrProtocol, err, line)
	}
	if checkPath(path) != nil {
		return Stat{}, false, nil // no object can have this name
	}
	return Stat{Path: path, Size: n}, true, nil
}

// validDate checks the shape of "2024/01/02" and "03:04:05".
func validDate(date, clock string) bool {
	digits := func(s, shape string) bool {
		if len(s) != len(shape) {
			return false
		}
		for i := range len(s) {
			if shape[i] == '9' && (s[i] < '0' || s[i] > '9') || shape[i] != '9' && s[i] != shape[i] {
				return false
			}
		}
		return true
	}
	return digits(date, "9999/99/99") && digits(clock, "99:99:99")
}

// parseSize parses a decimal size with optional "," thousands separators.
func parseSize(s string) (int64, error) {
	groups := strings.Split(s, ",")
	for i, g := range groups {
		if g == "" || i > 0 && len(g) != 3 || i == 0 && len(g) > 3 && len(groups) > 1 ||
			strings.Trim(g, "0123456789") != "" {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(strings.Join(groups, ""), 10, 64)
}

// unescapeRsync undoes rsync's escaping of unprintable bytes as \#ooo
// (three octal digits). rsync also escapes a backslash that precedes '#',
// so the result is unambiguous.
func unescapeRsync(s string) (string, error) {
	if !strings.Contains(s, `\#`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || !strings.HasPrefix(s[i+1:], "#") {
			b.WriteByte(s[i])
			continue
		}
		if i+5 > len(s) {
			return "", fmt.Errorf("truncated escape")
		}
		v, err := strconv.ParseUint(s[i+2:i+5], 8, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape %q", s[i:i+5])
		}
		b.WriteByte(byte(v))
		i += 4
	}
	return b.String(), nil
}
