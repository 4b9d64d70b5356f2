package stats

import (
	"bytes"
	"unicode/utf8"

	"github.com/pando-mirror/pando/internal/journal"
)

// pathBuf holds the scratch space of resolve, reused line after line.
type pathBuf struct{ decoded, clean []byte }

// trimTarget returns the path part of a request target: without scheme
// and host (absolute form), query or fragment.
func trimTarget(target []byte) []byte {
	target = stripOrigin(target)
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		target = target[:q]
	}
	if h := bytes.IndexByte(target, '#'); h >= 0 {
		target = target[:h]
	}
	return target
}

// resolve returns the path, relative to the tree's root, of the object a
// trimmed request target (see trimTarget) names, and the outcome for it:
// Download, Metadata (a path under .pando/) or NotObject (the root, a
// directory, a path that climbs out of the tree or that no published
// object can have). The target is as logged: \xHH escapes (nginx, Apache)
// and then %HH escapes are decoded, and "." and ".." segments and repeated
// slashes are resolved as a web server resolves them. The path returned
// points into target or into b, valid until the next call.
func (b *pathBuf) resolve(target []byte) ([]byte, Outcome) {
	if len(target) == 0 || target[0] != '/' {
		return nil, NotObject
	}
	if !needsDecoding(target) {
		return target[1:], checkObject(target[1:])
	}
	var ok bool
	if b.decoded, ok = decodeTarget(target, b.decoded[:0]); !ok {
		return nil, NotObject
	}
	if b.clean, ok = cleanPath(b.decoded, b.clean[:0]); !ok {
		return nil, NotObject
	}
	return b.clean, checkObject(b.clean)
}

// stripOrigin turns an absolute-form target ("http://host/p") into its
// path ("/p"); others are returned as they are.
func stripOrigin(t []byte) []byte {
	var rest []byte
	switch {
	case hasPrefixFold(t, "http://"):
		rest = t[len("http://"):]
	case hasPrefixFold(t, "https://"):
		rest = t[len("https://"):]
	default:
		return t
	}
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return nil
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// needsDecoding reports whether t has an escape, a repeated slash or a
// segment starting with a dot (maybe "." or "..").
func needsDecoding(t []byte) bool {
	for i, c := range t {
		switch {
		case c == '%' || c == '\\':
			return true
		case c == '/' && i+1 < len(t) && (t[i+1] == '/' || t[i+1] == '.'):
			return true
		}
	}
	return false
}

// decodeTarget appends t to dst with the log's \xHH (and Apache's \" and
// \\) escapes and then the URL's %HH escapes decoded.
func decodeTarget(t, dst []byte) ([]byte, bool) {
	start := len(dst)
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		switch {
		case i+3 < len(t) && t[i+1] == 'x' && isHex(t[i+2]) && isHex(t[i+3]):
			dst = append(dst, unhex(t[i+2])<<4|unhex(t[i+3]))
			i += 3
		case i+1 < len(t) && (t[i+1] == '"' || t[i+1] == '\\'):
			dst = append(dst, t[i+1])
			i++
		default:
			return dst, false
		}
	}
	// Percent-decode in place: the result is never longer.
	w := start
	for r := start; r < len(dst); r++ {
		c := dst[r]
		if c == '%' {
			if r+2 >= len(dst) || !isHex(dst[r+1]) || !isHex(dst[r+2]) {
				return dst, false
			}
			c = unhex(dst[r+1])<<4 | unhex(dst[r+2])
			r += 2
		}
		dst[w] = c
		w++
	}
	return dst[:w], true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// cleanPath appends to dst the slash-rooted path p with empty and "."
// segments dropped and ".." segments resolved, without its leading slash.
// It fails when a ".." would climb above the root, and returns an empty
// path for a directory (p ending in "/", "/." or "/..").
func cleanPath(p, dst []byte) ([]byte, bool) {
	last := p[bytes.LastIndexByte(p, '/')+1:]
	dir := len(last) == 0 || string(last) == "." || string(last) == ".."
	start := len(dst)
	for i := 0; i < len(p); {
		for i < len(p) && p[i] == '/' {
			i++
		}
		j := i
		for j < len(p) && p[j] != '/' {
			j++
		}
		seg := p[i:j]
		i = j
		switch string(seg) {
		case "", ".":
		case "..":
			if len(dst) == start {
				return dst, false
			}
			cut := bytes.LastIndexByte(dst[start:], '/')
			if cut < 0 {
				cut = 0
			}
			dst = dst[:start+cut]
		default:
			if len(dst) > start {
				dst = append(dst, '/')
			}
			dst = append(dst, seg...)
		}
	}
	if dir {
		return dst[:start], true
	}
	return dst, true
}

// checkObject says whether p, a clean relative path, can name a published
// object (journal.CheckPath's rules, without allocating): Download if so,
// Metadata for a path under .pando/, NotObject otherwise.
func checkObject(p []byte) Outcome {
	if len(p) == 0 || len(p) > journal.MaxPathLen || p[len(p)-1] == '/' {
		return NotObject
	}
	segs, segStart := 1, 0
	for i, c := range p {
		switch {
		case c < 0x20 || c == 0x7f || c == '\\':
			return NotObject
		case c == 0xc2 && i+1 < len(p) && p[i+1] >= 0x80 && p[i+1] <= 0x9f: // C1 controls
			return NotObject
		case c == '/':
			if !segmentOK(p[segStart:i]) {
				return NotObject
			}
			segs++
			segStart = i + 1
		}
	}
	if segs > journal.MaxDepth || !segmentOK(p[segStart:]) || !utf8.Valid(p) {
		return NotObject
	}
	if first := p[:min(len(p), len(journal.MetaDir)+1)]; bytes.EqualFold(first, []byte(journal.MetaDir+"/")) ||
		bytes.EqualFold(p, []byte(journal.MetaDir)) {
		return Metadata
	}
	return Download
}

func segmentOK(s []byte) bool {
	return len(s) > 0 && len(s) <= journal.MaxSegmentLen && string(s) != "." && string(s) != ".."
}
