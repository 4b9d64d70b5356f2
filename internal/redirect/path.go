package redirect

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/pando-mirror/pando/internal/journal"
)

// errBadPath answers a request whose path no published file can have.
var errBadPath = errors.New("malformed request path")

// requestPath returns the tree path a request URL names: slash-separated,
// without the leading slash; "" for the root. dir reports a trailing slash.
// The path is percent-decoded once (by net/url). A decoded path that is not
// canonical (empty, "." or ".." segments), holds a control character or a
// backslash, is not valid UTF-8, is too long, or was spelt with an encoded
// slash is refused with errBadPath: it cannot name an object, and passing
// it on could lead a mirror's server outside its tree.
func requestPath(u *url.URL) (p string, dir bool, err error) {
	if strings.Contains(strings.ToLower(u.RawPath), "%2f") {
		return "", false, errBadPath
	}
	p, ok := strings.CutPrefix(u.Path, "/")
	if !ok || len(p) > journal.MaxPathLen+1 {
		return "", false, errBadPath
	}
	if p == "" {
		return "", true, nil
	}
	p, dir = strings.CutSuffix(p, "/")
	if !validPath(p, false) {
		return "", false, errBadPath
	}
	return p, dir, nil
}

// validPath reports whether p, decoded, can name an object: a canonical,
// valid UTF-8 path of bounded segments without control characters or
// backslashes. literal also refuses the bytes that make a request target
// differ from the path it names ("?", "#", "%"). It looks at each byte
// once.
func validPath(p string, literal bool) bool {
	if p == "" || !utf8.ValidString(p) {
		return false
	}
	seg := 0 // where the current segment starts
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if s := p[seg:i]; s == "" || s == "." || s == ".." || len(s) > journal.MaxSegmentLen {
				return false
			}
			seg = i + 1
			continue
		}
		switch c := p[i]; {
		case c < 0x20 || c == 0x7f || c == '\\':
			return false
		case literal && (c == '?' || c == '#' || c == '%'):
			return false
		}
	}
	return true
}

// objectURL returns the URL of path p below the URL prefix (ending in "/").
func objectURL(prefix, p string) string {
	return prefix + escapePath(p)
}

// escapePath percent-encodes every byte of p that may not stand for itself
// in a URL path: everything except unreserved characters, sub-delimiters,
// ":", "@" and the "/" between segments (RFC 3986). It returns p itself,
// without allocating, when nothing needs escaping.
func escapePath(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		if !pathByte(p[i]) {
			n++
		}
	}
	if n == 0 {
		return p
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(p)+2*n)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathByte(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	}
	return false
}
