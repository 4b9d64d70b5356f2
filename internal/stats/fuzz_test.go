package stats

import (
	"bytes"
	"testing"

	"github.com/pando-mirror/pando/internal/journal"
)

// FuzzParseLine: any line parses or is refused without a panic; a counted
// download names a path journal.CheckPath accepts, on a day in range; the
// parser reads nothing outside the line and keeps no state between lines.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		okLine,
		line("GET", "/pool/./x/../a%20b.jar?q", 200),
		line("GET", `/caf\xC3\xA9.iso`, 200),
		line("GET", "/.pando/checkpoint", 200),
		line("GET", "/../../etc/passwd", 200),
		`::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
		`h - - [01/Jan/2025:00:00:00 +0000] "GET /a\"b HTTP/1.1" 200 1 "-" "ua \"x\""`,
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, common bool) {
		format := Combined
		if common {
			format = Common
		}
		orig := bytes.Clone(b)
		p := testParser(format)
		p.CountPartial = true
		d, path, o := p.Line(b)
		if !bytes.Equal(b, orig) {
			t.Fatalf("Line changed its input")
		}
		if o >= numOutcomes {
			t.Fatalf("outcome %d", o)
		}
		if o == Download {
			if err := journal.CheckPath(string(path)); err != nil {
				t.Fatalf("counted a path CheckPath refuses: %v", err)
			}
			if d < p.First || d > p.Last {
				t.Fatalf("counted day %s out of range", d)
			}
		}
		// A second parser, after another line, says the same.
		q := testParser(format)
		q.CountPartial = true
		q.Line([]byte(line("GET", "/x/%41/../y", 200)))
		d2, path2, o2 := q.Line(b)
		if o2 != o || d2 != d || !bytes.Equal(path, path2) {
			t.Fatalf("parsers disagree: %v %s %q vs %v %s %q", o, d, path, o2, d2, path2)
		}
	})
}
