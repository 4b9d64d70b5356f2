package stats

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/journal"
)

const okLine = `203.0.113.9 - - [23/Nov/2026:10:00:00 +0000] "GET /pool/a-1.0.jar HTTP/1.1" 200 1234 "-" "Maven/3.9"`

func TestStatsParseLine(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		f          Format
		want       Entry // Client, Method, Target compared as strings
		err        error
	}{
		{"combined", okLine, Combined,
			Entry{Client: []byte("203.0.113.9"), Method: []byte("GET"), Target: []byte("/pool/a-1.0.jar"), Status: 200, Bytes: 1234,
				Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Unix()}, nil},
		{"common", `::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`, Common,
			Entry{Client: []byte("::1"), Method: []byte("GET"), Target: []byte("/apache_pb.gif"), Status: 200, Bytes: 2326,
				Time: time.Date(2000, 10, 10, 20, 55, 36, 0, time.UTC).Unix()}, nil},
		{"no bytes", `h - - [01/Jan/2025:00:00:00 +0100] "HEAD /a HTTP/1.1" 304 - "-" "-"`, Combined,
			Entry{Client: []byte("h"), Method: []byte("HEAD"), Target: []byte("/a"), Status: 304, Bytes: -1,
				Time: time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC).Unix()}, nil},
		{"carriage return", okLine + "\r", Combined,
			Entry{Client: []byte("203.0.113.9"), Method: []byte("GET"), Target: []byte("/pool/a-1.0.jar"), Status: 200, Bytes: 1234,
				Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Unix()}, nil},
		{"extra fields after the user agent", okLine + ` 0.005 "x.example"`, Combined,
			Entry{Client: []byte("203.0.113.9"), Method: []byte("GET"), Target: []byte("/pool/a-1.0.jar"), Status: 200, Bytes: 1234,
				Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Unix()}, nil},
		{"apache escaped quote in the request", `h - - [01/Jan/2025:00:00:00 +0000] "GET /a\"b HTTP/1.1" 200 1 "-" "ua \"x\""`, Combined,
			Entry{Client: []byte("h"), Method: []byte("GET"), Target: []byte(`/a\"b`), Status: 200, Bytes: 1,
				Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}, nil},
		{"HTTP/0.9", `h - - [01/Jan/2025:00:00:00 +0000] "GET /a b" 200 1 "-" "-"`, Combined,
			Entry{Client: []byte("h"), Method: []byte("GET"), Target: []byte("/a b"), Status: 200, Bytes: 1,
				Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}, nil},
		{"garbage request", `h - - [01/Jan/2025:00:00:00 +0000] "\x16\x03\x01" 400 150 "-" "-"`, Combined,
			Entry{Client: []byte("h"), Method: []byte(`\x16\x03\x01`), Status: 400, Bytes: 150,
				Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}, nil},

		{"empty", ``, Combined, Entry{}, errClient},
		{"no client", ` - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, Combined, Entry{}, errClient},
		{"no time", `h - - "GET / HTTP/1.1" 200 1 "-" "-"`, Combined, Entry{}, errTime},
		{"bad month", `h - - [01/Foo/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, Combined, Entry{}, errTime},
		{"30 February", `h - - [30/Feb/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, Combined, Entry{}, errTime},
		{"hour 24", `h - - [01/Jan/2025:24:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, Combined, Entry{}, errTime},
		{"bad zone", `h - - [01/Jan/2025:00:00:00 *0000] "GET / HTTP/1.1" 200 1 "-" "-"`, Combined, Entry{}, errTime},
		{"short time", `h - - [01/Jan/2025:00:00:00] "GET / HTTP/1.1" 200 1 "-" "-"`, Combined, Entry{}, errTime},
		{"unquoted request", `h - - [01/Jan/2025:00:00:00 +0000] GET / HTTP/1.1 200 1 "-" "-"`, Combined, Entry{}, errRequest},
		{"unterminated request", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1 200 1`, Combined, Entry{}, errRequest},
		{"no status", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1"`, Combined, Entry{}, errStatus},
		{"status not a number", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 2x0 1 "-" "-"`, Combined, Entry{}, errStatus},
		{"status of four digits", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 2000 1 "-" "-"`, Combined, Entry{}, errStatus},
		{"bytes not a number", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1k "-" "-"`, Combined, Entry{}, errBytes},
		{"bytes too long", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1234567890123456789 "-" "-"`, Combined, Entry{}, errBytes},
		{"combined without user agent", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-"`, Combined, Entry{}, errTrailer},
		{"common with more", `h - - [01/Jan/2025:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`, Common, Entry{}, errTrailer},
		{"too long", okLine[:60] + strings.Repeat("a", MaxLineLen) + okLine[60:], Combined, Entry{}, errLong},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var e Entry
			err := ParseLine([]byte(tt.line), tt.f, &e)
			if err != tt.err {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if string(e.Client) != string(tt.want.Client) || string(e.Method) != string(tt.want.Method) ||
				string(e.Target) != string(tt.want.Target) || e.Status != tt.want.Status || e.Bytes != tt.want.Bytes || e.Time != tt.want.Time {
				t.Errorf("got client %q method %q target %q status %d bytes %d time %v\nwant client %q method %q target %q status %d bytes %d time %v",
					e.Client, e.Method, e.Target, e.Status, e.Bytes, time.Unix(e.Time, 0).UTC(),
					tt.want.Client, tt.want.Method, tt.want.Target, tt.want.Status, tt.want.Bytes, time.Unix(tt.want.Time, 0).UTC())
			}
		})
	}
}

func testParser(f Format) *Parser {
	first, last := SaneDays(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	return &Parser{Format: f, First: first, Last: last}
}

// line builds a combined line for a request on 23 Nov 2026.
func line(method, target string, status int) string {
	return `198.51.100.7 - - [23/Nov/2026:10:00:00 +0000] "` + method + ` ` + target + ` HTTP/1.1" ` +
		strconv.Itoa(status) + ` 99 "-" "curl/8"`
}

// agentLine is a download of a.iso by the given user agent.
func agentLine(agent string) string {
	return `h - - [23/Nov/2026:10:00:00 +0000] "GET /a.iso HTTP/1.1" 200 1 "-" "` + agent + `"`
}

func TestStatsParserOutcomes(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		partial    bool
		want       Outcome
		path, day  string
	}{
		{"download", line("GET", "/pool/a.jar", 200), false, Download, "pool/a.jar", "2026-11-23"},
		{"query dropped", line("GET", "/pool/a.jar?x=1&y=/../..", 200), false, Download, "pool/a.jar", "2026-11-23"},
		{"percent-encoded", line("GET", "/pool/a%20b%2Bc.jar", 200), false, Download, "pool/a b+c.jar", "2026-11-23"},
		{"encoded slash", line("GET", "/pool%2Fa.jar", 200), false, Download, "pool/a.jar", "2026-11-23"},
		{"log-escaped byte", line("GET", `/caf\xC3\xA9.iso`, 200), false, Download, "café.iso", "2026-11-23"},
		{"repeated slashes", line("GET", "//pool///a.jar", 200), false, Download, "pool/a.jar", "2026-11-23"},
		{"dot segments inside", line("GET", "/pool/./x/../a.jar", 200), false, Download, "pool/a.jar", "2026-11-23"},
		{"absolute form", line("GET", "http://mirror.example/pool/a.jar", 200), false, Download, "pool/a.jar", "2026-11-23"},
		{"a dot file", line("GET", "/pool/.hidden", 200), false, Download, "pool/.hidden", "2026-11-23"},
		{"zone moves the day", `h - - [24/Nov/2026:01:00:00 +0200] "GET /a HTTP/1.1" 200 1 "-" "-"`, false, Download, "a", "2026-11-23"},
		{"partial counted on request", line("GET", "/a.iso", 206), true, Download, "a.iso", "2026-11-23"},

		{"HEAD", line("HEAD", "/pool/a.jar", 200), false, NotGET, "", ""},
		{"POST", line("POST", "/pool/a.jar", 200), false, NotGET, "", ""},
		{"lowercase get", line("get", "/pool/a.jar", 200), false, NotGET, "", ""},
		{"not found", line("GET", "/pool/a.jar", 404), false, NotOK, "", ""},
		{"not modified", line("GET", "/pool/a.jar", 304), false, NotOK, "", ""},
		{"redirect", line("GET", "/pool", 301), false, NotOK, "", ""},
		{"partial", line("GET", "/a.iso", 206), false, Partial, "", ""},
		{"signed log", line("GET", "/.pando/checkpoint", 200), false, Metadata, "", ""},
		{"signed log, other case", line("GET", "/.PANDO/journal", 200), false, Metadata, "", ""},
		{"signed log, encoded", line("GET", "/%2Epando/checkpoint", 200), false, Metadata, "", ""},
		{"signed log via dots", line("GET", "/pool/../.pando/checkpoint", 200), false, Metadata, "", ""},
		{"root", line("GET", "/", 200), false, NotObject, "", ""},
		{"directory", line("GET", "/pool/", 200), false, NotObject, "", ""},
		{"directory with dot", line("GET", "/pool/.", 200), false, NotObject, "", ""},
		{"climbs out", line("GET", "/../etc/passwd", 200), false, NotObject, "", ""},
		{"climbs out encoded", line("GET", "/pool/%2e%2e/%2e%2e/etc/passwd", 200), false, NotObject, "", ""},
		{"bad escape", line("GET", "/a%zz", 200), false, NotObject, "", ""},
		{"bad log escape", line("GET", `/a\q`, 200), false, NotObject, "", ""},
		{"control character", line("GET", "/a%0Ab", 200), false, NotObject, "", ""},
		{"NUL", line("GET", "/a%00b", 200), false, NotObject, "", ""},
		{"C1 control", line("GET", "/a%C2%85b", 200), false, NotObject, "", ""},
		{"backslash", line("GET", "/a%5Cb", 200), false, NotObject, "", ""},
		{"not UTF-8", line("GET", "/a%FFb", 200), false, NotObject, "", ""},
		{"segment too long", line("GET", "/"+strings.Repeat("s", 256), 200), false, NotObject, "", ""},
		{"path too long", line("GET", strings.Repeat("/abcdefgh", 120), 200), false, NotObject, "", ""},
		{"too deep", line("GET", strings.Repeat("/a", 65), 200), false, NotObject, "", ""},
		{"no slash", line("GET", "pool/a.jar", 200), false, NotObject, "", ""},
		{"asterisk", line("GET", "*", 200), false, NotObject, "", ""},
		{"absolute form without path", line("GET", "http://mirror.example", 200), false, NotObject, "", ""},
		{"before 2000", `h - - [31/Dec/1999:23:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"`, false, OutOfRange, "", ""},
		{"the day after tomorrow", `h - - [25/Nov/2026:00:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "-"`, false, OutOfRange, "", ""},
		{"garbage", "\x00\x01 hello", false, Malformed, "", ""},
		{"checker hashing", agentLine("pando-check"), false, Machine, "", ""},
		{"mirror sync", agentLine("pando"), false, Machine, "", ""},
		{"mirror sync, versioned", agentLine("pando-sync/1.2 (+https://example.org)"), false, Machine, "", ""},
		{"pando get is a download", agentLine("pando-get"), false, Download, "a.iso", "2026-11-23"},
		{"a lookalike is a download", agentLine("pandora/2.0"), false, Download, "a.iso", "2026-11-23"},
		{"curl is a download", agentLine("curl/8.5.0"), false, Download, "a.iso", "2026-11-23"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testParser(Combined)
			p.CountPartial = tt.partial
			d, path, o := p.Line([]byte(tt.line))
			if o != tt.want {
				t.Fatalf("outcome %v, want %v", o, tt.want)
			}
			if o != Download {
				return
			}
			if string(path) != tt.path || d.String() != tt.day {
				t.Errorf("day %s path %q, want %s %q", d, path, tt.day, tt.path)
			}
			if err := journal.CheckPath(string(path)); err != nil {
				t.Errorf("a counted path fails CheckPath: %v", err)
			}
		})
	}
}

// TestStatsParserAllocs: parsing a line and counting a download of an
// object already counted allocates nothing, on the fast path and on the
// path that decodes.
func TestStatsParserAllocs(t *testing.T) {
	p := testParser(Combined)
	c := newCounts()
	for _, l := range []string{okLine, line("GET", "/pool/./a%20b.jar?x", 200), line("HEAD", "/x", 200), "garbage"} {
		b := []byte(l)
		d, path, o := p.Line(b)
		if o == Download {
			c.add(d, path)
		}
		allocs := testing.AllocsPerRun(100, func() {
			d, path, o := p.Line(b)
			if o == Download {
				c.add(d, path)
			}
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocations per line", l, allocs)
		}
	}
}

func TestStatsParseFormat(t *testing.T) {
	for name, want := range map[string]Format{"combined": Combined, "pando": Combined, "common": Common} {
		if f, err := ParseFormat(name); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v", name, f, err)
		}
	}
	_, err := ParseFormat("json")
	if want := `log format "json": want combined, common or pando`; err == nil || err.Error() != want {
		t.Errorf("ParseFormat(json): %v, want %s", err, want)
	}
}

func TestStatsDays(t *testing.T) {
	for d := DayOf(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)); d < DayOf(time.Date(2410, 1, 1, 0, 0, 0, 0, time.UTC)); d += 17 {
		tm := time.Unix(int64(d)*86400, 0).UTC()
		if got, want := d.String(), tm.Format(time.DateOnly); got != want {
			t.Fatalf("Day(%d) = %s, want %s", d, got, want)
		}
		if back, err := ParseDay(d.String()); err != nil || back != d {
			t.Fatalf("ParseDay(%s) = %d, %v; want %d", d, back, err, d)
		}
	}
	if d := DayOf(time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)); d != -1 {
		t.Errorf("the last second of 1969 is day %d, want -1", d)
	}
	for _, bad := range []string{"", "2025-1-01", "2025-02-29", "25-01-01", "2025-01-01T00:00:00Z", "2025/01/01"} {
		if _, err := ParseDay(bad); err == nil {
			t.Errorf("ParseDay(%q) succeeded", bad)
		}
	}
}
