package journal

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// testHash is the SHA-256 of "test", the hash in the package doc's example.
const testHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func mustSHA(t testing.TB, s string) [32]byte {
	t.Helper()
	var h [32]byte
	if n, err := hex.Decode(h[:], []byte(s)); err != nil || n != 32 {
		t.Fatalf("bad test hash %q: %v", s, err)
	}
	return h
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{File: "file", Symlink: "symlink", Remove: "remove", 0: "kind(0)", 9: "kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestLineRoundTrip writes each record, checks the exact line, and parses it
// back to the same record.
func TestLineRoundTrip(t *testing.T) {
	h := mustSHA(t, testHash)
	longSeg := strings.Repeat("%", MaxSegmentLen)
	longPath := strings.Repeat(longSeg+"/", 4)[:MaxPathLen-2] + "/%"
	if len(longPath) != MaxPathLen {
		t.Fatalf("longPath is %d bytes", len(longPath))
	}
	tests := []struct {
		name string
		rec  Record
		line string
	}{
		{"doc file", Record{Kind: File, Time: 1700000000, Path: "pool/a b.jar", Size: 1024, MTime: 1699999000, SHA256: h},
			"file 1700000000 pool/a%20b.jar 1024 1699999000 " + testHash},
		{"doc symlink", Record{Kind: Symlink, Time: 1700000000, Path: "latest.jar", MTime: 1699999000, Target: "pool/a b.jar"},
			"symlink 1700000000 latest.jar 1699999000 pool/a%20b.jar"},
		{"doc remove", Record{Kind: Remove, Time: 1700000500, Path: "pool/a b.jar"},
			"remove 1700000500 pool/a%20b.jar"},
		{"zeros", Record{Kind: File, Path: "a"},
			"file 0 a 0 0 " + strings.Repeat("0", 64)},
		{"largest times", Record{Kind: Symlink, Time: maxTime, Path: "l", MTime: maxTime, Target: "a"},
			"symlink 9007199254740991 l 9007199254740991 a"},
		{"largest size", Record{Kind: File, Time: 1, Path: "big", Size: 1<<63 - 1, MTime: 1, SHA256: h},
			"file 1 big 9223372036854775807 1 " + testHash},
		{"percent and space escapes", Record{Kind: Remove, Time: 7, Path: "100%/x y%20z"},
			"remove 7 100%25/x%20y%2520z"},
		{"only a space", Record{Kind: Remove, Time: 7, Path: " "},
			"remove 7 %20"},
		{"non-ASCII UTF-8", Record{Kind: Remove, Time: 7, Path: "ü/ß€.txt"},
			"remove 7 ü/ß€.txt"},
		{"dotted names", Record{Kind: Remove, Time: 7, Path: "...a/.b/c..d/.pandox"},
			"remove 7 ...a/.b/c..d/.pandox"},
		{"symlink up and over", Record{Kind: Symlink, Time: 7, Path: "a/b/l", MTime: 6, Target: "../../c d/e"},
			"symlink 7 a/b/l 6 ../../c%20d/e"},
		{"longest path and target", Record{Kind: Symlink, Time: 7, Path: longPath, MTime: 6, Target: longSeg},
			"symlink 7 " + strings.ReplaceAll(longPath, "%", "%25") + " 6 " + strings.ReplaceAll(longSeg, "%", "%25")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendLine([]byte("prefix\n"), &tt.rec)
			if err != nil {
				t.Fatalf("AppendLine: %v", err)
			}
			if want := "prefix\n" + tt.line + "\n"; string(got) != want {
				t.Fatalf("AppendLine wrote\n%q\nwant\n%q", got, want)
			}
			r, err := ParseLine([]byte(tt.line))
			if err != nil {
				t.Fatalf("ParseLine: %v", err)
			}
			if r != tt.rec {
				t.Fatalf("ParseLine = %+v, want %+v", r, tt.rec)
			}
		})
	}
}

// TestParseLineRefuses feeds every kind of non-canonical or invalid line and
// checks the whole error, which must name the field or path at fault.
func TestParseLineRefuses(t *testing.T) {
	upper := strings.ToUpper(testHash)
	long := "remove 1 " + strings.Repeat("a", MaxLineLen-len("remove 1 "))
	tests := []struct {
		name, line, err string
	}{
		{"leading zero time", "remove 01700000000 a", `time "01700000000" is not a canonical decimal number`},
		{"leading zero size", "file 1 a 01 1 " + testHash, `size "01" is not a canonical decimal number`},
		{"leading zero mtime", "symlink 1 l 00 a", `mtime "00" is not a canonical decimal number`},
		{"plus sign", "remove +1 a", `time "+1" is not a canonical decimal number`},
		{"minus zero", "remove -0 a", `time "-0" is not a canonical decimal number`},
		{"negative size", "file 1 a -1 1 " + testHash, `size "-1" is not a canonical decimal number`},
		{"empty number", "remove  a", `time "" is not a canonical decimal number`},
		{"twenty digits", "remove 10000000000000000000 a", `time "10000000000000000000" is not a canonical decimal number`},
		{"beyond int64", "remove 9999999999999999999 a", `time "9999999999999999999" is not a canonical decimal number`},
		{"hex number", "remove 0x10 a", `time "0x10" is not a canonical decimal number`},
		{"time beyond 2^53", "remove 9007199254740992 a", `path "a": time 9007199254740992 out of range`},
		{"mtime beyond 2^53", "symlink 1 l 9007199254740992 a", `path "l": mtime 9007199254740992 out of range`},
		{"uppercase hex", "file 1 a 1 1 " + upper, `sha256 "` + upper + `" is not lowercase hex`},
		{"non-hex", "file 1 a 1 1 " + testHash[:63] + "g", `sha256 "` + testHash[:63] + `g" is not lowercase hex`},
		{"short hash", "file 1 a 1 1 " + testHash[:63], `sha256 "` + testHash[:63] + `" is not 64 hex digits`},
		{"long hash", "file 1 a 1 1 " + testHash + "0", `sha256 "` + testHash + `..." is not 64 hex digits`},
		{"other escape", "remove 1 a%2Fb", `path "a%2Fb" has an escape other than %20 or %25`},
		{"lowercase escape", "remove 1 a%2f", `path "a%2f" has an escape other than %20 or %25`},
		{"truncated escape", "remove 1 a%2", `path "a%2" has an escape other than %20 or %25`},
		{"bare percent", "remove 1 100%", `path "100%" has an escape other than %20 or %25`},
		{"escaped newline", "remove 1 a%0A", `path "a%0A" has an escape other than %20 or %25`},
		{"target escape", "symlink 1 l 1 a%41", `target "a%41" has an escape other than %20 or %25`},
		{"double space", "remove  1 a", `remove record has 4 fields, want 3`},
		{"trailing space", "remove 1 a ", `remove record has 4 fields, want 3`},
		{"leading space", " remove 1 a", `unknown record kind ""`},
		{"missing hash", "file 1 a 1 1", `file record has 5 fields, want 6`},
		{"missing target", "symlink 1 l 1", `symlink record has 4 fields, want 5`},
		{"missing path", "remove 1", `remove record has 2 fields, want 3`},
		{"remove with extra field", "remove 1 a 5", `remove record has 4 fields, want 3`},
		{"unknown kind", "rename 1 a b", `unknown record kind "rename"`},
		{"uppercase kind", "FILE 1 a 1 1 " + testHash, `unknown record kind "FILE"`},
		{"empty line", "", `unknown record kind ""`},
		{"tabs", "remove\t1\ta", `unknown record kind "remove\t1\ta"`},
		{"long kind truncated", strings.Repeat("x", 100), `unknown record kind "` + strings.Repeat("x", 64) + `..."`},
		{"CR at end", "remove 1 a\r", `path "a\r": control character U+000D`},
		{"CR after hash", "file 1 a 1 1 " + testHash + "\r", `sha256 "` + testHash + `..." is not 64 hex digits`},
		{"two lines", "remove 1 a\nremove 1 b", `remove record has 5 fields, want 3`},
		{"empty path", "remove 1 ", `path "": empty`},
		{"traversal", "remove 1 ../a", `path "../a": ".." segment`},
		{"escaped trailing slash", "remove 1 a%20/", `path "a /": empty segment`},
		{"reserved dir", "remove 1 .pando/checkpoint", `path ".pando/checkpoint": inside the reserved .pando directory`},
		{"absolute target", "symlink 1 l 1 /etc/passwd", `symlink "l": target "/etc/passwd" is absolute`},
		{"overlong", long, fmt.Sprintf("line of %d bytes exceeds %d", MaxLineLen+1, MaxLineLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseLine([]byte(tt.line))
			if err == nil {
				t.Fatalf("ParseLine(%q) = %+v, want error %q", tt.line, r, tt.err)
			}
			if err.Error() != tt.err {
				t.Fatalf("ParseLine(%q) error\n%s\nwant\n%s", tt.line, err, tt.err)
			}
		})
	}
}

// TestAppendLineRefuses checks that a publisher cannot write what a parser
// would refuse, and that the buffer is left as it was.
func TestAppendLineRefuses(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
		err  string
	}{
		{"bad path", Record{Kind: Remove, Path: "a/../b"}, `path "a/../b": ".." segment`},
		{"empty path", Record{Kind: File}, `path "": empty`},
		{"negative time", Record{Kind: Remove, Time: -1, Path: "a"}, `path "a": time -1 out of range`},
		{"time too large", Record{Kind: Remove, Time: maxTime + 1, Path: "a"}, `path "a": time 9007199254740992 out of range`},
		{"negative size", Record{Kind: File, Path: "a", Size: -1}, `path "a": negative size`},
		{"negative file mtime", Record{Kind: File, Path: "a", MTime: -1}, `path "a": mtime -1 out of range`},
		{"symlink mtime too large", Record{Kind: Symlink, Path: "l", MTime: maxTime + 1, Target: "a"}, `path "l": mtime 9007199254740992 out of range`},
		{"symlink escaping", Record{Kind: Symlink, Path: "l", Target: "../x"}, `symlink "l": target "../x" leads outside the tree`},
		{"symlink without target", Record{Kind: Symlink, Path: "l"}, `symlink "l": target "": empty`},
		{"zero kind", Record{Path: "a"}, `path "a": unknown record kind 0`},
		{"unknown kind", Record{Kind: 4, Path: "a"}, `path "a": unknown record kind 4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte("keep\n")
			got, err := AppendLine(b, &tt.rec)
			if err == nil || err.Error() != tt.err {
				t.Fatalf("AppendLine(%+v) error = %v, want %q", tt.rec, err, tt.err)
			}
			if !bytes.Equal(got, []byte("keep\n")) {
				t.Fatalf("AppendLine changed the buffer to %q", got)
			}
		})
	}
}
