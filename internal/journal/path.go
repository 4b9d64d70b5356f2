package journal

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// MetaDir is the top-level directory of a published tree that holds the
// signed log. No record may name a path inside it.
const MetaDir = ".pando"

// CheckPath reports whether p may name a file in a published tree: relative,
// slash-separated, valid UTF-8 with no control characters or backslashes, no
// empty, "." or ".." segments, not inside MetaDir, and within the length
// limits. The error names the path.
func CheckPath(p string) error {
	if err := checkText(p); err != nil {
		return fmt.Errorf("path %q: %v", p, err)
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q: absolute", p)
	}
	if strings.Count(p, "/") >= MaxDepth {
		return fmt.Errorf("path %q: more than %d segments", p, MaxDepth)
	}
	for s := range strings.SplitSeq(p, "/") {
		switch {
		case s == "":
			return fmt.Errorf("path %q: empty segment", p)
		case s == "." || s == "..":
			return fmt.Errorf("path %q: %q segment", p, s)
		case len(s) > MaxSegmentLen:
			return fmt.Errorf("path %q: segment longer than %d bytes", p, MaxSegmentLen)
		}
	}
	if first, _, _ := strings.Cut(p, "/"); strings.EqualFold(first, MetaDir) { // also on case-insensitive file systems
		return fmt.Errorf("path %q: inside the reserved %s directory", p, MetaDir)
	}
	return nil
}

// CheckTarget reports whether target is a safe symlink target for the link at
// linkPath: relative, resolving (lexically) to a path inside the tree other
// than the tree's root and MetaDir, and with ".." segments only before its
// first name, so that no symlink met on the way can make it climb further
// than it reads. The error names the link.
func CheckTarget(linkPath, target string) error {
	if err := checkText(target); err != nil {
		return fmt.Errorf("symlink %q: target %q: %v", linkPath, target, err)
	}
	if strings.HasPrefix(target, "/") {
		return fmt.Errorf("symlink %q: target %q is absolute", linkPath, target)
	}
	resolved := path.Join(path.Dir(linkPath), target)
	if resolved == "." || resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("symlink %q: target %q leads outside the tree", linkPath, target)
	}
	if first, _, _ := strings.Cut(resolved, "/"); strings.EqualFold(first, MetaDir) {
		return fmt.Errorf("symlink %q: target %q leads into %s", linkPath, target, MetaDir)
	}
	// A ".." after a name climbs out of whatever that name resolves to,
	// which is not its lexical parent when the name is itself a symlink
	// ("up" -> ".." makes "up/../../x" leave the tree). Leading ".."
	// segments climb real directories, the link's own parents.
	named := false
	for _, s := range strings.Split(target, "/") {
		switch {
		case s == ".." && named:
			return fmt.Errorf("symlink %q: target %q has a \"..\" segment after a name", linkPath, target)
		case s != "" && s != "." && s != "..":
			named = true
		}
	}
	return nil
}

func checkText(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty")
	case len(s) > MaxPathLen:
		return fmt.Errorf("longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r < 0xa0): // C0, DEL and C1
			return fmt.Errorf("control character %U", r)
		case r == '\\':
			return fmt.Errorf("backslash")
		}
	}
	return nil
}
