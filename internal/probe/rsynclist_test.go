package probe

import (
	"errors"
	"strings"
	"testing"
)

func TestParseListLine(t *testing.T) {
	for _, c := range []struct {
		line string
		path string
		size int64
		ok   bool
		bad  bool
	}{
		{"-rw-r--r--          1,234 2024/01/02 03:04:05 path/to/file", "path/to/file", 1234, true, false},
		{"-rw-r--r--              0 2024/01/02 03:04:05 empty", "empty", 0, true, false},
		{"-rw-r--r-- 1,234,567,890 2024/01/02 03:04:05 a b/c d", "a b/c d", 1234567890, true, false},
		{"-rw-r--r--              5 2024/01/02 03:04:05  leading space", " leading space", 5, true, false},
		{"-rw-r--r--              5 2024/01/02 03:04:05 x -> y", "x -> y", 5, true, false},
		{`-rw-r--r--              5 2024/01/02 03:04:05 caf\#303\#251`, "caf\u00e9", 5, true, false},
		{`-rw-r--r--              5 2024/01/02 03:04:05 back\#134#123`, `back\#123`, 5, true, false},
		{"drwxr-xr-x          4,096 2024/01/02 03:04:05 .", "", 0, false, false},
		{"lrwxrwxrwx             10 2024/01/02 03:04:05 link -> target", "", 0, false, false},
		{"crw-rw-rw-              0 2024/01/02 03:04:05 dev/null", "", 0, false, false},
		{"-rw-r--r--              5 2024/01/02 03:04:05 ../escape", "", 0, false, false},
		{"-rw-r--r--              5 2024/01/02 03:04:05 a//b", "", 0, false, false},
		{"Welcome to the mirror", "", 0, false, true},
		{"", "", 0, false, true},
		{"-rw-r--r--          1,23 2024/01/02 03:04:05 x", "", 0, false, true},
		{"-rw-r--r--          12,34 2024/01/02 03:04:05 x", "", 0, false, true},
		{"-rw-r--r--          -5 2024/01/02 03:04:05 x", "", 0, false, true},
		{"-rw-r--r--          +5 2024/01/02 03:04:05 x", "", 0, false, true},
		{"-rw-r--r--          5 2024-01-02 03:04:05 x", "", 0, false, true},
		{"-rw-r--r--          5 2024/01/02 03:04 x", "", 0, false, true},
		{"-rw-r--r--          5 2024/01/02 03:04:05 ", "", 0, false, true},
		{"-rw-r--r--          5 2024/01/02 03:04:05", "", 0, false, true},
		{"-rw-r--r-- 99999999999999999999 2024/01/02 03:04:05 x", "", 0, false, true},
		{`-rw-r--r--              5 2024/01/02 03:04:05 bad\#999`, "", 0, false, true},
		{`-rw-r--r--              5 2024/01/02 03:04:05 cut\#30`, "", 0, false, true},
	} {
		st, ok, err := parseListLine(c.line)
		if c.bad {
			if err == nil || !errors.Is(err, ErrProtocol) {
				t.Errorf("%q: accepted (%+v, %v), want ErrProtocol", c.line, st, ok)
			}
			continue
		}
		if err != nil || ok != c.ok || ok && (st.Path != c.path || st.Size != c.size) {
			t.Errorf("%q: %+v, %v, %v; want %q %d %v", c.line, st, ok, err, c.path, c.size, c.ok)
		}
	}
}

func TestParseListing(t *testing.T) {
	out := "drwxr-xr-x          4,096 2024/01/02 03:04:05 .\n" +
		"-rw-r--r--             12 2024/01/02 03:04:05 a\n" +
		"drwxr-xr-x          4,096 2024/01/02 03:04:05 d\n" +
		"-rw-r--r--          1,000 2024/01/02 03:04:05 d/b c\n"
	list, err := parseListing(strings.NewReader(out))
	if err != nil || len(list) != 2 || list[0] != (Stat{Path: "a", Size: 12}) || list[1] != (Stat{Path: "d/b c", Size: 1000}) {
		t.Errorf("parseListing: %+v, %v", list, err)
	}
	for _, c := range []struct{ in, want string }{
		{out + "garbage\n", `listing line 5: protocol: not an rsync listing line: "garbage"`},
		{"-rw-r--r--             12 2024/01/02 03:04:05 unterminated", "listing line 1: protocol: last line not terminated"},
		{"-rw-r--r--             12 2024/01/02 03:04:05 " + strings.Repeat("x", maxListLine) + "\n", "listing line 1: protocol: longer than 16384 bytes"},
	} {
		if _, err := parseListing(strings.NewReader(c.in)); err == nil || err.Error() != c.want {
			t.Errorf("parseListing: %v, want %q", err, c.want)
		}
	}
}

// FuzzParseListing: any input is parsed or refused, never a panic, and
// every path reported is one an object could have.
func FuzzParseListing(f *testing.F) {
	f.Add("-rw-r--r--          1,234 2024/01/02 03:04:05 path/to/file\n")
	f.Add("drwxr-xr-x          4,096 2024/01/02 03:04:05 .\n-rw-r--r--   5 2024/01/02 03:04:05 a b\n")
	f.Add(`-rw-r--r--              5 2024/01/02 03:04:05 caf\#303\#251` + "\n")
	f.Fuzz(func(t *testing.T, in string) {
		list, err := parseListing(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, st := range list {
			if checkPath(st.Path) != nil || st.Size < 0 {
				t.Errorf("reported %+v", st)
			}
		}
	})
}
