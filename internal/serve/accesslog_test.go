package serve

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pando-mirror/pando/internal/buftest"
)

// combinedRE parses one line of the combined log format.
var combinedRE = regexp.MustCompile(`^(\S+) - - \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$`)

type logLine struct {
	host, request, referer, agent string
	time                          time.Time
	status                        int
	bytes                         int64
}

func parseCombined(t *testing.T, line string) logLine {
	t.Helper()
	m := combinedRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not a combined log line: %q", line)
	}
	when, err := time.Parse(CombinedTimeLayout, m[2])
	if err != nil {
		t.Fatalf("time in %q: %v", line, err)
	}
	status, _ := strconv.Atoi(m[4])
	n, _ := strconv.ParseInt(m[5], 10, 64)
	return logLine{host: m[1], time: when, request: m[3], status: status, bytes: n, referer: m[6], agent: m[7]}
}

func TestAccessLog(t *testing.T) {
	tr := newTree(t)
	var out buftest.Buffer
	s := startServer(t, AccessLog(Handler(openRoot(t, tr.dir), Options{}), &out), Config{})
	c := client(t)
	start := time.Now().Add(-time.Second)

	requests := []struct {
		method, path string
		hdr          map[string]string
		want         logLine
	}{
		{"GET", "/data.bin", map[string]string{"Referer": "https://example.org/dl", "User-Agent": "curl/8.0"},
			logLine{request: "GET /data.bin HTTP/1.1", status: 200, bytes: 10000, referer: "https://example.org/dl", agent: "curl/8.0"}},
		{"GET", "/data.bin", map[string]string{"Range": "bytes=100-199"},
			logLine{request: "GET /data.bin HTTP/1.1", status: 206, bytes: 100, referer: "-", agent: "Go-http-client/1.1"}},
		{"HEAD", "/data.bin", nil,
			logLine{request: "HEAD /data.bin HTTP/1.1", status: 200, bytes: 0, referer: "-", agent: "Go-http-client/1.1"}},
		{"GET", "/no/such/file?q=1", map[string]string{"User-Agent": `evil" 200 1 "-" "x`},
			logLine{request: "GET /no/such/file?q=1 HTTP/1.1", status: 404, bytes: int64(len("404 Not Found\n")), referer: "-",
				agent: `evil\x22 200 1 \x22-\x22 \x22x`}},
		{"GET", "/pool", map[string]string{"User-Agent": "Mozilla/5.0 (\xc3\xa9)"},
			logLine{request: "GET /pool HTTP/1.1", status: 301, bytes: 0, referer: "-", agent: `Mozilla/5.0 (\xC3\xA9)`}},
	}
	for _, r := range requests {
		fetch(t, c, r.method, s.url+r.path, r.hdr)
	}
	if err := s.stop(); err != nil { // every line is written once the server has stopped
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(requests) {
		t.Fatalf("%d log lines; want %d:\n%s", len(lines), len(requests), out.String())
	}
	for i, r := range requests {
		got := parseCombined(t, lines[i])
		if got.host != "127.0.0.1" {
			t.Errorf("line %d: host %q; want 127.0.0.1", i, got.host)
		}
		if got.time.Before(start.Truncate(time.Second)) || got.time.After(time.Now()) {
			t.Errorf("line %d: time %v is not during the test", i, got.time)
		}
		got.host, got.time = "", time.Time{}
		if got != r.want {
			t.Errorf("line %d (%s %s):\n got %+v\nwant %+v", i, r.method, r.path, got, r.want)
		}
	}
}

func TestAppendLogField(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "-"},
		{"curl/8.5.0", "curl/8.5.0"},
		{`say "hi"`, `say \x22hi\x22`},
		{`back\slash`, `back\x5Cslash`},
		{"line\nbreak\r\t", `line\x0Abreak\x0D\x09`},
		{"\x00\x7f", `\x00\x7F`},
		{"caf\xc3\xa9", `caf\xC3\xA9`},
	}
	for _, tt := range tests {
		if got := string(appendLogField(nil, tt.in)); got != tt.want {
			t.Errorf("appendLogField(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestAccessLogCountsWhatWasSent(t *testing.T) {
	// A client that hangs up early is logged with the bytes that went out,
	// not the Content-Length the response promised.
	tr := newTree(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	writeFile(t, filepath.Join(tr.dir, "big.bin"), big)
	var out buftest.Buffer
	h := AccessLog(Handler(openRoot(t, tr.dir), Options{}), &out)
	s := startOn(t, smallBuffers{listen(t)}, h, Config{})

	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	setReadBuffer(t, conn)
	fmt.Fprintf(conn, "GET /big.bin HTTP/1.1\r\nHost: test\r\n\r\n")
	if _, err := io.ReadFull(conn, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	got := parseCombined(t, strings.TrimSuffix(out.String(), "\n"))
	t.Logf("logged %q", out.String())
	if got.status != 200 || got.bytes <= 0 || got.bytes >= int64(len(big)) {
		t.Errorf("logged %d %d; want 200 and fewer than the %d bytes of the file", got.status, got.bytes, len(big))
	}
}
