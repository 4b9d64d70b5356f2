package batch

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRequestRoundTrip(t *testing.T) {
	paths := []string{"a", "dir/b c.txt", "ünïcode/ß"}
	got, err := ParseRequest(AppendRequest(nil, paths))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(paths, "\n") {
		t.Errorf("got %q, want %q", got, paths)
	}
	none, err := ParseRequest([]byte(header))
	if err != nil || len(none) != 0 {
		t.Errorf("empty request: %q, %v; want no paths and no error", none, err)
	}
}

func TestParseRequestRefuses(t *testing.T) {
	many := header + strings.Repeat("x\n", MaxPaths+1)
	for _, tc := range []struct{ name, body, want string }{
		{"no header", "a\n", "does not start with"},
		{"other version", "pando-batch 2\na\n", "does not start with"},
		{"unterminated", header + "a\nb", "newline"},
		{"traversal", header + "a\n../etc/passwd\n", "line 3"},
		{"absolute", header + "/etc/passwd\n", "absolute"},
		{"local state", header + ".pando/local/lock\n", "reserved"},
		{"empty line", header + "a\n\n", "line 3"},
		{"too many", many, "at most 1024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// answer writes entries: a string is a file's content, nil a "no".
func answer(t *testing.T, entries ...any) []byte {
	t.Helper()
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	w := NewWriter(bw)
	for _, e := range entries {
		var err error
		if s, ok := e.(string); ok {
			err = w.File(int64(len(s)), strings.NewReader(s))
		} else {
			err = w.Missing()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	bw.Flush()
	return out.Bytes()
}

func TestAnswerRoundTrip(t *testing.T) {
	data := answer(t, "hello", nil, "", strings.Repeat("x", 100000))
	// Read through a reader that returns a byte at a time, so that no
	// entry comes in one piece.
	r := NewReader(iotest.OneByteReader(bytes.NewReader(data)), 1<<20)
	want := []struct {
		ok   bool
		body string
	}{{true, "hello"}, {false, ""}, {true, ""}, {true, strings.Repeat("x", 100000)}}
	for i, w := range want {
		size, ok, err := r.Next()
		if err != nil || ok != w.ok || size != int64(len(w.body)) {
			t.Fatalf("entry %d: size %d ok %v err %v, want %d %v", i+1, size, ok, err, len(w.body), w.ok)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != w.body {
			t.Fatalf("entry %d: %d bytes, %v", i+1, len(got), err)
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last entry: %v, want io.EOF", err)
	}
}

func TestReaderSkipsUnreadBytes(t *testing.T) {
	r := NewReader(bytes.NewReader(answer(t, "skipped entirely", "partly read", "last")), 100)
	r.Next()
	r.Next()
	io.ReadFull(r, make([]byte, 3))
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "last" {
		t.Errorf("third entry %q, want %q", got, "last")
	}
}

func TestReaderRefuses(t *testing.T) {
	for _, tc := range []struct{ name, answer, want string }{
		{"bad keyword", "yes 3\nabc", "entry 1: bad header line"},
		{"leading zero", "ok 03\nabc", "bad header line"},
		{"negative", "ok -3\n", "bad header line"},
		{"too large", "ok 101\n", "more than the 100"},
		{"long line", "ok " + strings.Repeat("1", 40) + "\n", "longer than"},
		{"no newline", "ok 3", "unexpected EOF"},
		{"second entry bad", "ok 1\naNO\n", "entry 2: bad header line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.answer), 100)
			var err error
			for range 3 {
				if _, _, err = r.Next(); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestReaderCutOff(t *testing.T) {
	data := answer(t, "complete", "cut off here")
	r := NewReader(bytes.NewReader(data[:len(data)-4]), 100)
	r.Next()
	io.ReadAll(r)
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(r)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "entry 2") {
		t.Errorf("reading a cut off entry: %v, want an unexpected EOF naming entry 2", err)
	}
}

func TestWriterShortFile(t *testing.T) {
	var out bytes.Buffer
	bw := bufio.NewWriter(&out)
	err := NewWriter(bw).File(10, strings.NewReader("short"))
	if err == nil || !strings.Contains(err.Error(), "5 written") {
		t.Errorf("a file shorter than its size: %v, want an error saying how much was written", err)
	}
}

// FuzzParseRequest: any body is refused with an error or gives paths that
// pass the path rules and encode back to the same body.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(header + "a\nb/c\n"))
	f.Add([]byte(header))
	f.Add([]byte(header + "../x\n"))
	f.Add([]byte("pando-batch 1\r\na\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		paths, err := ParseRequest(body)
		if err != nil {
			return
		}
		if len(paths) > MaxPaths {
			t.Fatalf("%d paths accepted", len(paths))
		}
		if again := AppendRequest(nil, paths); !bytes.Equal(again, body) {
			t.Fatalf("body %q parsed to %q, which encodes as %q", body, paths, again)
		}
	})
}

// FuzzReader: any answer is read to its end or to an error, never past
// its size limit, and an answer that was written by Writer reads back.
func FuzzReader(f *testing.F) {
	f.Add([]byte("ok 5\nhellono\nok 0\n"))
	f.Add([]byte("ok 3\nab"))
	f.Add([]byte("ok 99999999999999999999\n"))
	f.Add([]byte("no\nno\nyes\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 64
		r := NewReader(bytes.NewReader(data), max)
		for range len(data) + 1 { // each entry takes at least 3 bytes
			size, ok, err := r.Next()
			if err != nil {
				return
			}
			if size > max || size < 0 || (!ok && size != 0) {
				t.Fatalf("entry of size %d (ok %v) read with a limit of %d", size, ok, max)
			}
			got, err := io.ReadAll(r)
			if err == nil && int64(len(got)) != size {
				t.Fatalf("entry of size %d read as %d bytes", size, len(got))
			}
		}
		t.Fatal("more entries than bytes")
	})
}
