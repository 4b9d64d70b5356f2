package stats

import (
	"bytes"
	"errors"
	"fmt"
)

// A Format is a web server access log format.
type Format uint8

// The formats ParseLine reads.
const (
	// Combined is the combined log format of Apache and nginx (nginx's
	// default), which pando serve writes too:
	//	host ident user [time] "request" status bytes "referer" "user-agent"
	// Fields appended after the user agent are ignored.
	Combined Format = iota + 1
	// Common is the common log format: the combined format without the
	// referer and user agent.
	Common
)

// ParseFormat returns the format with the given name: "combined",
// "common", or "pando" (pando serve's access log, which is combined).
func ParseFormat(name string) (Format, error) {
	switch name {
	case "combined", "pando":
		return Combined, nil
	case "common":
		return Common, nil
	}
	return 0, fmt.Errorf("log format %q: want combined, common or pando", name)
}

func (f Format) String() string {
	switch f {
	case Combined:
		return "combined"
	case Common:
		return "common"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// MaxLineLen is the longest log line read, in bytes without the newline;
// a longer line is malformed.
const MaxLineLen = 16 << 10

// An Entry is one parsed log line. Its slices point into the line.
type Entry struct {
	Client []byte // the client's address as logged
	Method []byte
	Target []byte // the request target as logged (escaped as the server escapes it)
	Status int
	Bytes  int64  // body bytes sent; -1 when logged as "-"
	Time   int64  // when the request arrived, in Unix seconds
	Agent  []byte // the user agent as logged (combined format only; nil in common)
}

// Day returns the UTC day of the entry's time.
func (e *Entry) Day() Day { return Day(floorDiv(e.Time, 86400)) }

// Reasons a line is malformed. They are values, so parsing allocates
// nothing.
var (
	errLong    = errors.New("log line too long")
	errClient  = errors.New("log line: no client address")
	errTime    = errors.New("log line: no valid [time]")
	errRequest = errors.New("log line: no quoted request")
	errStatus  = errors.New("log line: no valid status")
	errBytes   = errors.New("log line: no valid byte count")
	errTrailer = errors.New("log line: not in the format's shape after the byte count")
)

// ParseLine parses one line of a log in format f (without its newline; a
// final carriage return is ignored) into e. It allocates nothing.
func ParseLine(line []byte, f Format, e *Entry) error {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > MaxLineLen {
		return errLong
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errClient
	}
	e.Client = line[:sp]
	rest, err := parseTimeField(line[sp+1:], e)
	if err != nil {
		return err
	}
	req, rest, ok := quoted(rest)
	if !ok {
		return errRequest
	}
	splitRequest(req, e)
	if rest, err = parseStatusBytes(rest, e); err != nil {
		return err
	}
	if !parseTrailer(rest, f, e) {
		return errTrailer
	}
	return nil
}

// parseTimeField skips the ident and user fields, parses "[time] " and
// returns what follows.
func parseTimeField(b []byte, e *Entry) ([]byte, error) {
	lb := bytes.IndexByte(b, '[')
	if lb < 4 || b[lb-1] != ' ' { // at least "- - ["
		return nil, errTime
	}
	b = b[lb+1:]
	const n = len("02/Jan/2006:15:04:05 -0700")
	if len(b) < n+2 || b[n] != ']' || b[n+1] != ' ' {
		return nil, errTime
	}
	t, ok := parseLogTime(b[:n])
	if !ok {
		return nil, errTime
	}
	e.Time = t
	return b[n+2:], nil
}

// parseLogTime parses "02/Jan/2006:15:04:05 -0700" into Unix seconds.
func parseLogTime(b []byte) (int64, bool) {
	if b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return 0, false
	}
	d, ok1 := digits(b[0:2])
	mon := month(b[3:6])
	y, ok2 := digits(b[7:11])
	h, ok3 := digits(b[12:14])
	mi, ok4 := digits(b[15:17])
	s, ok5 := digits(b[18:20])
	zh, ok6 := digits(b[22:24])
	zm, ok7 := digits(b[24:26])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mon == 0 ||
		d < 1 || d > daysIn(y, mon) || h > 23 || mi > 59 || s > 60 || zh > 23 || zm > 59 {
		return 0, false
	}
	zone := zh*3600 + zm*60
	switch b[21] {
	case '+':
	case '-':
		zone = -zone
	default:
		return 0, false
	}
	return daysFromCivil(y, mon, d)*86400 + h*3600 + mi*60 + s - zone, true
}

// digits parses a short run of decimal digits.
func digits(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// month returns 1 to 12 for "Jan" to "Dec", 0 otherwise.
func month(b []byte) int64 {
	switch string(b) { // no allocation: the compiler compares in place
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}

// quoted returns the contents of the double-quoted field b starts with,
// and what follows its closing quote. A quote preceded by an odd number of
// backslashes is escaped (Apache writes \" inside fields; nginx \x22).
func quoted(b []byte) (field, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(b); {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return nil, nil, false
		}
		k := i + j
		n := 0
		for p := k - 1; p >= 1 && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return b[1:k], b[k+1:], true
		}
		i = k + 1
	}
	return nil, nil, false
}

// splitRequest splits "METHOD target HTTP/x" (or "METHOD target", HTTP/0.9)
// into e's method and target. A request without a space has no target.
func splitRequest(req []byte, e *Entry) {
	sp := bytes.IndexByte(req, ' ')
	if sp < 0 {
		e.Method, e.Target = req, nil
		return
	}
	e.Method, e.Target = req[:sp], req[sp+1:]
	if last := bytes.LastIndexByte(e.Target, ' '); last >= 0 && bytes.HasPrefix(e.Target[last+1:], []byte("HTTP/")) {
		e.Target = e.Target[:last]
	}
}

// parseStatusBytes parses " status bytes" and returns what follows.
func parseStatusBytes(b []byte, e *Entry) ([]byte, error) {
	if len(b) < 6 || b[0] != ' ' || b[4] != ' ' {
		return nil, errStatus
	}
	st, ok := digits(b[1:4])
	if !ok || st < 100 {
		return nil, errStatus
	}
	e.Status = int(st)
	b = b[5:]
	end := bytes.IndexByte(b, ' ')
	if end < 0 {
		end = len(b)
	}
	field := b[:end]
	switch {
	case len(field) == 1 && field[0] == '-':
		e.Bytes = -1
	case len(field) == 0 || len(field) > 18:
		return nil, errBytes
	default:
		n, ok := digits(field)
		if !ok {
			return nil, errBytes
		}
		e.Bytes = n
	}
	return b[end:], nil
}

// parseTrailer checks that what follows the byte count fits the format
// and sets e's user agent: nothing (but blanks) for common,
// ` "referer" "user-agent"` and anything after for combined.
func parseTrailer(b []byte, f Format, e *Entry) bool {
	e.Agent = nil
	switch f {
	case Common:
		return len(bytes.TrimRight(b, " \t")) == 0
	case Combined:
		for range 2 {
			if len(b) == 0 || b[0] != ' ' {
				return false
			}
			var ok bool
			if e.Agent, b, ok = quoted(b[1:]); !ok {
				return false
			}
		}
		return true
	}
	return false
}
