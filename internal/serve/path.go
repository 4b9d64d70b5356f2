package serve

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/pando-mirror/pando/internal/journal"
	"github.com/pando-mirror/pando/internal/logdir"
)

// maxLinks bounds the symlinks followed while resolving one request, as the
// kernel's ELOOP limit does.
const maxLinks = 40

var (
	errBadPath  = errors.New("malformed request path")
	errLocal    = errors.New("local state is never served")
	errEscapes  = errors.New("path leads outside the tree")
	errTooDeep  = errors.New("too many symbolic links")
	errNotFound = fs.ErrNotExist
)

// requestName returns the name inside the tree that a request's URL asks for:
// slash-separated with no leading slash, "." for the root. slash reports
// whether the URL path ended in "/". The path is percent-decoded exactly once
// (by net/url); a decoded path that is not canonical (empty, "." or ".."
// segments), holds a backslash, NUL or other control character, is not valid
// UTF-8, or was spelt with an encoded slash is refused with errBadPath. A
// double-encoded path stays literal: "%252e" names a file called "%2e".
func requestName(u *url.URL) (name string, slash bool, err error) {
	// RawPath is set only when the path was not spelt in net/url's default
	// encoding, which never encodes a slash.
	if strings.Contains(strings.ToLower(u.RawPath), "%2f") {
		return "", false, errBadPath
	}
	p, ok := strings.CutPrefix(u.Path, "/")
	if !ok || len(p) > journal.MaxPathLen {
		return "", false, errBadPath
	}
	if p == "" {
		return ".", true, nil
	}
	p, slash = strings.CutSuffix(p, "/")
	if err := checkName(p); err != nil {
		return "", false, err
	}
	return p, slash, nil
}

// checkName refuses a decoded name that is not canonical or holds a byte no
// published path may hold.
func checkName(p string) error {
	if !utf8.ValidString(p) {
		return errBadPath
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return errBadPath
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." || len(seg) > journal.MaxSegmentLen {
			return errBadPath
		}
	}
	return nil
}

// isLocal reports whether name lies in the tree's local state, .pando/local.
// The comparison ignores case and trailing dots and spaces, so that no
// spelling reaches the directory on a file system that folds them.
func isLocal(name string) bool {
	segs := strings.SplitN(name, "/", 3)
	return len(segs) >= 2 && sameName(segs[0], logdir.Dir) && sameName(segs[1], path.Base(logdir.LocalDir))
}

func sameName(seg, want string) bool {
	return strings.EqualFold(strings.TrimRight(seg, ". "), want)
}

// resolve expands every symlink on the way to name and returns the canonical
// name it leads to (no symlinks, "." for the root) and that file's
// information. A symlink that is absolute or climbs above the root is
// refused with errEscapes; os.Root, which opens the result, would refuse it
// too. Resolving here as well lets the handler apply its policy (never the
// local state) to where a name leads, not only to how it is spelt.
func resolve(root *os.Root, name string) (string, fs.FileInfo, error) {
	todo := strings.Split(name, "/")
	var done []string
	var fi fs.FileInfo // of done's last element, when known
	links := 0
	for len(todo) > 0 {
		seg := todo[0]
		todo = todo[1:]
		switch seg {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", nil, errEscapes
			}
			done = done[:len(done)-1]
			fi = nil
			continue
		}
		p := path.Join(path.Join(done...), seg)
		st, err := root.Lstat(p)
		if err != nil {
			return "", nil, err
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			if !st.IsDir() && len(todo) > 0 {
				return "", nil, errNotFound
			}
			done, fi = append(done, seg), st
			continue
		}
		if links++; links > maxLinks {
			return "", nil, errTooDeep
		}
		target, err := root.Readlink(p)
		if err != nil {
			return "", nil, err
		}
		if target == "" || path.IsAbs(target) || strings.HasPrefix(target, `\`) {
			return "", nil, errEscapes
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	real := path.Join(done...)
	if real == "" {
		real = "."
	}
	if fi != nil {
		return real, fi, nil
	}
	fi, err := root.Lstat(real)
	return real, fi, err
}
