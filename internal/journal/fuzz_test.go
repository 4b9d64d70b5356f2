package journal

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// docJournal is the example of the package doc.
const docJournal = "file 1700000000 pool/a%20b.jar 1024 1699999000 " + testHash + "\n" +
	"symlink 1700000000 latest.jar 1699999000 pool/a%20b.jar\n" +
	"remove 1700000500 pool/a%20b.jar\n"

// FuzzParseLine checks that ParseLine never panics and accepts only what
// AppendLine writes, byte for byte.
func FuzzParseLine(f *testing.F) {
	for _, l := range strings.Split(strings.TrimSuffix(docJournal, "\n"), "\n") {
		f.Add([]byte(l))
	}
	for _, l := range []string{
		"remove 7 100%25/x%20y%2520z",
		"file 0 a 0 0 " + strings.Repeat("0", 64),
		"symlink 7 a/b/l 6 ../../c%20d/e",
		"remove 01 a",
		"remove +1 a",
		"file 1 a 1 1 " + strings.ToUpper(testHash),
		"remove 1 a%2Fb",
		"remove 1 a%2",
		"remove 1 a ",
		"remove  1 a",
		"remove 1 a\r",
		"symlink 1 l 1 ../x",
		"symlink 1 x/y/b 1 up/../../outside",
		"remove 1 .pando/checkpoint",
		"remove 9007199254740992 a",
		"",
	} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseLine(line)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseLine(%q): empty error", line)
			}
			return
		}
		out, err := AppendLine(nil, &r)
		if err != nil {
			t.Fatalf("ParseLine(%q) = %+v, which AppendLine refuses: %v", line, r, err)
		}
		if want := append(slices.Clip(line), '\n'); !bytes.Equal(out, want) {
			t.Fatalf("ParseLine(%q) = %+v, which AppendLine writes as %q", line, r, out)
		}
		if len(out) > MaxLineLen {
			t.Fatalf("accepted a line of %d bytes", len(out))
		}
	})
}

// FuzzLinesApply checks that splitting and replaying arbitrary bytes never
// panics, and that a replay that succeeds describes a real tree and encodes
// back to the very bytes it came from.
func FuzzLinesApply(f *testing.F) {
	f.Add([]byte(docJournal), uint16(3))
	f.Add([]byte(docJournal), uint16(2))
	f.Add([]byte(docJournal+"remove 1 partial"), uint16(3))
	f.Add([]byte(docJournal), uint16(4))
	f.Add([]byte("file 1 a 1 1 "+testHash+"\nfile 1 a/b 1 1 "+testHash+"\n"), uint16(2))
	f.Add([]byte("file 1 d/x 1 1 "+testHash+"\nremove 1 d/x\nfile 1 d 1 1 "+testHash+"\n"), uint16(3))
	f.Add([]byte("remove 1 a\n"), uint16(1))
	f.Add([]byte("\n\n\n"), uint16(3))
	f.Add([]byte(strings.Repeat("x", MaxLineLen)+"\n"), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, n uint16) {
		lines, err := Lines(data, 0, int64(n))
		if err != nil {
			return
		}
		if len(lines) != int(n) {
			t.Fatalf("Lines returned %d lines, want %d", len(lines), n)
		}
		consumed := 0
		for _, l := range lines {
			if bytes.IndexByte(l, '\n') >= 0 || len(l) >= MaxLineLen {
				t.Fatalf("Lines returned line %q", l)
			}
			consumed += len(l) + 1
		}
		s := NewState()
		recs, err := s.ApplyLines(lines)
		if err != nil {
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("record %d: ", s.N)) {
				t.Fatalf("ApplyLines error %q does not name record %d", err, s.N)
			}
			return
		}
		if s.N != int64(n) || len(recs) != int(n) {
			t.Fatalf("ApplyLines: N %d, %d records; want %d", s.N, len(recs), n)
		}
		var enc []byte
		for i := range recs {
			enc, err = AppendLine(enc, &recs[i])
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
		if !bytes.Equal(enc, data[:consumed]) {
			t.Fatalf("re-encoded journal\n%q\ndiffers from input\n%q", enc, data[:consumed])
		}
		checkState(t, s)
	})
}

// checkState checks that every live path is valid, that none lies below
// another, and that the directories are exactly the live paths' ancestors.
func checkState(t *testing.T, s *State) {
	paths := s.Paths()
	if !slices.IsSorted(paths) || len(paths) != s.Len() {
		t.Fatalf("Paths() = %q, not sorted or not Len() %d", paths, s.Len())
	}
	dirs := map[string]bool{}
	for _, p := range paths {
		if err := CheckPath(p); err != nil {
			t.Fatalf("live path: %v", err)
		}
		e, _ := s.Lookup(p)
		if e.Kind == Remove || e.Path != p || e.Index < 0 || e.Index >= s.N {
			t.Fatalf("live entry %+v", e)
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for _, p := range paths {
		if dirs[p] {
			t.Fatalf("live path %q is also a directory", p)
		}
	}
	for d := range dirs {
		if !s.IsDir(d) {
			t.Fatalf("IsDir(%q) = false, but live paths lie below it", d)
		}
	}
	for _, p := range paths {
		if s.IsDir(p) {
			t.Fatalf("IsDir(%q) = true for a live path", p)
		}
	}
}

// FuzzCheckPath checks that CheckPath never panics, names the path in its
// errors, and accepts only clean, relative, printable paths within the limits,
// which the line format carries unchanged.
func FuzzCheckPath(f *testing.F) {
	for _, p := range []string{
		"pool/a.jar", "a b/100%", "ü/日本", ".pandora", "a/.pando/x",
		"", ".", "..", "../a", "a/../b", "a//b", "/a", "a/", "a\x00b", "a\nb",
		"a\u0085", `a\b`, "a\xffb", ".pando", ".pando/journal",
		strings.Repeat("a/", MaxDepth+1), strings.Repeat("a", MaxSegmentLen+1),
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := CheckPath(p)
		if err != nil {
			if prefix := fmt.Sprintf("path %q: ", p); !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("CheckPath(%q) error %q does not start with %q", p, err, prefix)
			}
			return
		}
		if !utf8.ValidString(p) || len(p) == 0 || len(p) > MaxPathLen {
			t.Fatalf("accepted %q: invalid UTF-8 or bad length", p)
		}
		if strings.ContainsFunc(p, func(r rune) bool { return unicode.IsControl(r) || r == '\\' }) {
			t.Fatalf("accepted %q with a control character or backslash", p)
		}
		if path.IsAbs(p) || path.Clean(p) != p {
			t.Fatalf("accepted %q, which is absolute or not clean", p)
		}
		segs := strings.Split(p, "/")
		if len(segs) > MaxDepth || segs[0] == MetaDir {
			t.Fatalf("accepted %q: too deep or reserved", p)
		}
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || len(s) > MaxSegmentLen {
				t.Fatalf("accepted %q with segment %q", p, s)
			}
		}
		line, err := AppendLine(nil, &Record{Kind: Remove, Path: p})
		if err != nil {
			t.Fatalf("AppendLine refuses accepted path %q: %v", p, err)
		}
		if bytes.Count(line, []byte(" ")) != 2 || bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("path %q written as %q", p, line)
		}
		if r, err := ParseLine(line[:len(line)-1]); err != nil || r.Path != p {
			t.Fatalf("path %q read back as %q, %v", p, r.Path, err)
		}
	})
}

// FuzzCheckTarget checks that a target CheckTarget accepts resolves inside
// the tree, not to its root nor into MetaDir, and climbs only before its
// first name.
func FuzzCheckTarget(f *testing.F) {
	for _, tt := range [][2]string{
		{"a/l", "../b"}, {"l", "./a"}, {"x/y/b", "up/../../outside"}, {"d/l", "../../x"},
		{"l", "."}, {"l", "/etc"}, {"l", ".pando/checkpoint"}, {"d/l", "../x/../.pando"},
		{"a/b/c/l", "../../../d/./e/"}, {"l", "a\x00"},
	} {
		f.Add(tt[0], tt[1])
	}
	f.Fuzz(func(t *testing.T, link, target string) {
		if CheckPath(link) != nil {
			return
		}
		err := CheckTarget(link, target)
		if err != nil {
			if prefix := fmt.Sprintf("symlink %q: target %q", link, target); !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("CheckTarget error %q does not start with %q", err, prefix)
			}
			return
		}
		if path.IsAbs(target) || checkText(target) != nil {
			t.Fatalf("accepted target %q", target)
		}
		r := path.Join(path.Dir(link), target)
		if r == "." || r == ".." || strings.HasPrefix(r, "../") || r == MetaDir || strings.HasPrefix(r, MetaDir+"/") {
			t.Fatalf("accepted target %q of %q, which resolves to %q", target, link, r)
		}
		named := false
		for _, s := range strings.Split(target, "/") {
			if s == ".." && named {
				t.Fatalf("accepted target %q with \"..\" after a name", target)
			}
			named = named || (s != "" && s != "." && s != "..")
		}
	})
}
