package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPath(t *testing.T) {
	seg := strings.Repeat("s", MaxSegmentLen)
	longest := strings.Repeat(seg+"/", 4)[:MaxPathLen-2] + "/x"
	tooLong := longest + "x"
	deepest := strings.TrimSuffix(strings.Repeat("d/", MaxDepth), "/")
	tooDeep := deepest + "/d"
	tests := []struct {
		name, path, err string // err "" means accepted
	}{
		{"plain", "pool/a.jar", ""},
		{"one segment", "a", ""},
		{"space and percent", "a b/100%", ""},
		{"dots inside names", "...a/.b/c..d/...", ""},
		{"reserved name below the top", "a/.pando/x", ""},
		{"reserved name as a prefix", ".pandora", ""},
		{"non-ASCII", "ü/日本/€", ""},
		{"longest", longest, ""},
		{"longest segment", seg, ""},
		{"deepest", deepest, ""},

		{"empty", "", `path "": empty`},
		{"traversal at start", "../etc/passwd", `path "../etc/passwd": ".." segment`},
		{"traversal inside", "a/../../b", `path "a/../../b": ".." segment`},
		{"dotdot alone", "..", `path "..": ".." segment`},
		{"dot alone", ".", `path ".": "." segment`},
		{"dot segment", "a/./b", `path "a/./b": "." segment`},
		{"empty segment", "a//b", `path "a//b": empty segment`},
		{"leading slash", "/a", `path "/a": absolute`},
		{"root", "/", `path "/": absolute`},
		{"trailing slash", "a/", `path "a/": empty segment`},
		{"NUL", "a\x00b", `path "a\x00b": control character U+0000`},
		{"newline", "a\nb", `path "a\nb": control character U+000A`},
		{"CR", "a\r", `path "a\r": control character U+000D`},
		{"tab", "a\tb", `path "a\tb": control character U+0009`},
		{"escape", "a\x1b[31m", `path "a\x1b[31m": control character U+001B`},
		{"DEL", "a\x7f", `path "a\x7f": control character U+007F`},
		{"C1 next line", "a\u0085b", `path "a\u0085b": control character U+0085`},
		{"C1 last", "a\u009f", `path "a\u009f": control character U+009F`},
		{"backslash", `a\b`, `path "a\\b": backslash`},
		{"windows traversal", `..\x`, `path "..\\x": backslash`},
		{"invalid UTF-8", "a\xffb", `path "a\xffb": not valid UTF-8`},
		{"overlong UTF-8 slash", "a\xc0\xafb", `path "a\xc0\xafb": not valid UTF-8`},
		{"reserved dir", ".pando", `path ".pando": inside the reserved .pando directory`},
		{"inside reserved dir", ".pando/checkpoint", `path ".pando/checkpoint": inside the reserved .pando directory`},
		{"local state", ".pando/local/lock", `path ".pando/local/lock": inside the reserved .pando directory`},
		{"reserved dir in other case", ".PANDO/checkpoint", `path ".PANDO/checkpoint": inside the reserved .pando directory`},
		{"too long", tooLong, fmt.Sprintf("path %q: longer than %d bytes", tooLong, MaxPathLen)},
		{"segment too long", seg + "s", fmt.Sprintf("path %q: segment longer than %d bytes", seg+"s", MaxSegmentLen)},
		{"too deep", tooDeep, fmt.Sprintf("path %q: more than %d segments", tooDeep, MaxDepth)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPath(tt.path)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("CheckPath(%q) = %v, want nil", tt.path, err)
			case tt.err != "" && err == nil:
				t.Fatalf("CheckPath(%q) = nil, want %q", tt.path, tt.err)
			case tt.err != "" && err.Error() != tt.err:
				t.Fatalf("CheckPath(%q) error\n%s\nwant\n%s", tt.path, err, tt.err)
			}
		})
	}
}

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		name, link, target, err string // err "" means accepted
	}{
		{"sibling", "a/l", "b", ""},
		{"down", "l", "pool/a b.jar", ""},
		{"up one", "a/l", "../b", ""},
		{"up to a sibling tree", "a/b/l", "../../c/d", ""},
		{"up then down", "a/b/l", "../c", ""},
		{"dot prefix", "l", "./a", ""},
		{"dot inside", "l", "a/./b", ""},
		{"trailing slash", "l", "a/", ""},
		{"dangling", "l", "does/not/exist", ""},
		{"to itself", "l", "l", ""},
		{"reserved name below the top", "l", "a/.pando", ""},

		{"escaping", "d/l", "../../x", `symlink "d/l": target "../../x" leads outside the tree`},
		{"escaping from the top", "l", "../x", `symlink "l": target "../x" leads outside the tree`},
		{"to the parent of the tree", "d/l", "../..", `symlink "d/l": target "../.." leads outside the tree`},
		{"to root by dot", "l", ".", `symlink "l": target "." leads outside the tree`},
		{"to root by dotdot", "d/l", "..", `symlink "d/l": target ".." leads outside the tree`},
		{"to root by slash", "d/l", "../", `symlink "d/l": target "../" leads outside the tree`},
		{"absolute", "l", "/etc/passwd", `symlink "l": target "/etc/passwd" is absolute`},
		{"absolute root", "l", "/", `symlink "l": target "/" is absolute`},
		{"into reserved dir", "l", ".pando/checkpoint", `symlink "l": target ".pando/checkpoint" leads into .pando`},
		{"into reserved dir in other case", "l", ".Pando/local", `symlink "l": target ".Pando/local" leads into .pando`},
		{"reserved dir itself", "d/l", "../.pando", `symlink "d/l": target "../.pando" leads into .pando`},
		{"into reserved dir by a detour", "d/l", "../x/../.pando/local", `symlink "d/l": target "../x/../.pando/local" leads into .pando`},
		// "up" -> ".." at x/y/up resolves to x, so the kernel reads
		// x/y/up/../../outside as x/../../outside, outside the tree,
		// though the lexical join x/y/outside is inside.
		{"dotdot after a name", "x/y/b", "up/../../outside", `symlink "x/y/b": target "up/../../outside" has a ".." segment after a name`},
		{"dotdot after a name, staying put", "l", "a/..", `symlink "l": target "a/.." leads outside the tree`},
		{"dotdot after a name, going down", "l", "a/../b", `symlink "l": target "a/../b" has a ".." segment after a name`},
		{"dotdot after dot and a name", "d/l", ".././a/../b", `symlink "d/l": target ".././a/../b" has a ".." segment after a name`},
		{"empty", "l", "", `symlink "l": target "": empty`},
		{"NUL", "l", "a\x00", `symlink "l": target "a\x00": control character U+0000`},
		{"newline", "l", "a\n", `symlink "l": target "a\n": control character U+000A`},
		{"backslash", "l", `..\x`, `symlink "l": target "..\\x": backslash`},
		{"invalid UTF-8", "l", "\xff", `symlink "l": target "\xff": not valid UTF-8`},
		{"too long", "l", strings.Repeat("a", MaxPathLen+1), fmt.Sprintf("symlink %q: target %q: longer than %d bytes", "l", strings.Repeat("a", MaxPathLen+1), MaxPathLen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTarget(tt.link, tt.target)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("CheckTarget(%q, %q) = %v, want nil", tt.link, tt.target, err)
			case tt.err != "" && err == nil:
				t.Fatalf("CheckTarget(%q, %q) = nil, want %q", tt.link, tt.target, tt.err)
			case tt.err != "" && err.Error() != tt.err:
				t.Fatalf("CheckTarget(%q, %q) error\n%s\nwant\n%s", tt.link, tt.target, err, tt.err)
			}
		})
	}
}

// TestCheckTargetOnDisk creates, in a real directory, every link of a set of
// tricky chains that CheckTarget accepts, and checks with the kernel's own
// resolution that none of them leads outside the tree or to its root.
func TestCheckTargetOnDisk(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "tree")
	if err := os.MkdirAll(filepath.Join(root, "x", "y", "z"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "outside"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := []struct{ path, target string }{
		{"x/y/up", ".."},                // x
		{"x/y/z/up2", "../up"},          // x/y/up, so x
		{"x/y/b", "up/../../outside"},   // kernel: x/../../outside
		{"x/y/c", "up/y/up/../../.."},   // kernel: x/../../..
		{"x/y/z/d", "../../y/up/../.."}, // kernel: x/../..
		{"x/y/z/e", "up2/../../outside"},
		{"x/f", "y/up/y/up/y"}, // stays inside: x/y
		{"x/g", "../x/y/z"},
	}
	var made []string
	for _, l := range links {
		if CheckTarget(l.path, l.target) != nil {
			continue
		}
		if err := os.Symlink(l.target, filepath.Join(root, filepath.FromSlash(l.path))); err != nil {
			t.Fatal(err)
		}
		made = append(made, l.path)
	}
	if len(made) != 4 {
		t.Errorf("CheckTarget accepted %q, want the 4 links that stay inside", made)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range made {
		got, err := filepath.EvalSymlinks(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if !strings.HasPrefix(got, realRoot+string(filepath.Separator)) {
			t.Errorf("accepted link %s resolves to %s, outside %s", p, got, realRoot)
		}
	}
}
