package availability

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
)

// A reader reads the body's fields. The first error sticks: later reads
// return zero values, so callers check err once per record.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// uvarint reads a shortest-form unsigned varint of at most max.
func (r *reader) uvarint(what string, max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	x, n := binary.Uvarint(r.b[r.off:])
	switch {
	case n == 0:
		r.failf("%s: truncated", what)
	case n < 0:
		r.failf("%s: varint overflows 64 bits", what)
	case n > 1 && r.b[r.off+n-1] == 0:
		r.failf("%s: varint not in its shortest form", what)
	case x > max:
		r.failf("%s %d: more than %d", what, x, max)
	}
	if r.err != nil {
		return 0
	}
	r.off += n
	return x
}

func (r *reader) bytes(what string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b)-r.off {
		r.failf("%s: truncated", what)
		return nil
	}
	b := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

func (r *reader) byte(what string, max byte) byte {
	b := r.bytes(what, 1)
	if b == nil {
		return 0
	}
	if b[0] > max {
		r.failf("%s %d: more than %d", what, b[0], max)
		return 0
	}
	return b[0]
}

// str reads a length-prefixed string of at most max bytes.
func (r *reader) str(what string, max int) string {
	n := r.uvarint(what+" length", uint64(max))
	return string(r.bytes(what, int(n)))
}

func (r *reader) f64(what string) float64 {
	b := r.bytes(what, 8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (m *Map) decodeBody(b []byte, version int) error {
	r := &reader{b: b}
	m.fallback = r.str("fallback", maxURLLen)
	if r.err == nil && m.fallback != "" {
		if err := checkPrefix(m.fallback, "http", "https"); err != nil {
			return fmt.Errorf("fallback %q: %w", truncate(m.fallback), err)
		}
	}
	if err := m.decodeMirrors(r); err != nil {
		return err
	}
	if err := m.decodeObjects(r); err != nil {
		return err
	}
	if version >= 2 {
		if err := m.decodeLinks(r); err != nil {
			return err
		}
	}
	if r.off != len(b) {
		return fmt.Errorf("%d bytes after the last field", len(b)-r.off)
	}
	return nil
}

// decodeLinks reads the symlinks, refusing any the signed log could not
// hold, out of order, or at an object's path.
func (m *Map) decodeLinks(r *reader) error {
	n := r.uvarint("link count", MaxLinks)
	prev := ""
	for i := 0; i < int(n) && r.err == nil; i++ {
		l := Link{Path: r.str("link path", journal.MaxPathLen), Target: r.str("link target", journal.MaxPathLen)}
		if r.err != nil {
			break
		}
		var err error
		switch _, obj := m.Lookup(l.Path); {
		case i > 0 && l.Path <= prev:
			err = fmt.Errorf("path %q not after %q", truncate(l.Path), truncate(prev))
		case obj:
			err = fmt.Errorf("path %q is an object's", truncate(l.Path))
		default:
			if err = journal.CheckPath(l.Path); err == nil {
				err = journal.CheckTarget(l.Path, l.Target)
			}
		}
		if err != nil {
			return fmt.Errorf("link %d: %w", i, err)
		}
		m.links = append(m.links, l)
		prev = l.Path
	}
	return r.err
}

func (m *Map) decodeMirrors(r *reader) error {
	n := r.uvarint("mirror count", config.MaxMirrors)
	if r.err != nil {
		return r.err
	}
	m.mirrors = make([]Mirror, 0, n)
	names := make(map[string]bool, n)
	for i := 0; i < int(n); i++ {
		mi := decodeMirror(r, &m.slots)
		if r.err == nil && names[mi.Name] {
			r.failf("name used by an earlier mirror")
		}
		if r.err != nil {
			return fmt.Errorf("mirror %d %q: %w", i, truncate(mi.Name), r.err)
		}
		names[mi.Name] = true
		m.mirrors = append(m.mirrors, mi)
	}
	m.words = wordsFor(m.slots)
	return nil
}

func decodeMirror(r *reader, slots *int) Mirror {
	var mi Mirror
	mi.Name = r.str("name", 63)
	if r.err == nil {
		if err := config.CheckMirrorName(mi.Name); err != nil {
			r.failf("name: %v", err)
		}
	}
	mi.Weight = int(r.uvarint("weight", config.MaxWeight))
	mi.Country = r.str("country", 2)
	if r.err == nil && mi.Country != "" && !isCountry(mi.Country) {
		r.failf("country %q: want two upper-case letters", mi.Country)
	}
	mi.Continent = r.str("continent", 2)
	if r.err == nil && mi.Continent != "" && config.CheckContinent(mi.Continent) != nil {
		r.failf("continent %q: want one of AF, AN, AS, EU, NA, OC, SA", mi.Continent)
	}
	flags := r.byte("flags", flagCoords|flagChecked|flagTrusted)
	mi.HasCoords, mi.Checked, mi.Trusted = flags&flagCoords != 0, flags&flagChecked != 0, flags&flagTrusted != 0
	if mi.HasCoords {
		mi.Lat, mi.Lon = r.f64("latitude"), r.f64("longitude")
		if r.err == nil && !(mi.Lat >= -90 && mi.Lat <= 90 && mi.Lon >= -180 && mi.Lon <= 180) {
			r.failf("coordinates %v, %v out of range", mi.Lat, mi.Lon)
		}
	}
	mi.ASN = uint32(r.uvarint("asn", math.MaxUint32))
	mi.Problem = r.str("problem", maxProblemLen)
	if r.err == nil && !checkText(mi.Problem) {
		r.failf("problem: not printable UTF-8")
	}
	decodeAccess(r, &mi, slots)
	return mi
}

func decodeAccess(r *reader, mi *Mirror, slots *int) {
	n := r.uvarint("access count", maxAccess)
	last := byte(0)
	for j := 0; j < int(n) && r.err == nil; j++ {
		code := r.byte("access kind", 3)
		if r.err == nil && code <= last {
			r.failf("access %d: kind %d: kinds must be 1 (http), 2 (https), 3 (ftp) in increasing order", j, code)
		}
		last = code
		a := Access{Kind: kindOf(code), URL: r.str("access url", maxURLLen), Slot: *slots}
		if r.err == nil {
			if err := checkPrefix(a.URL, string(a.Kind)); err != nil {
				r.failf("%s %q: %v", a.Kind, truncate(a.URL), err)
			}
		}
		a.Reachable = r.byte("access reachable", 1) == 1
		mi.Access = append(mi.Access, a)
		*slots++
	}
}

// decodeObjects reads the objects. Paths are gathered in one buffer and
// sliced from a single string, so a map costs a few allocations however
// many objects it has.
func (m *Map) decodeObjects(r *reader) error {
	n := int(r.uvarint("object count", MaxObjects))
	nbytes := (m.slots + 7) / 8
	if room := (len(r.b) - r.off) / (5 + 32 + nbytes); r.err == nil && n > room {
		return fmt.Errorf("object count %d: the body has room for at most %d", n, room)
	}
	if r.err != nil {
		return r.err
	}
	m.files = make([]file, n)
	m.holders = make([]uint64, n*m.words)
	buf := make([]byte, 0, len(r.b)-r.off)
	ends := make([]int, n)
	start := 0
	for i := 0; i < n; i++ {
		next, err := m.decodeObject(r, i, buf, start, nbytes)
		if err != nil {
			prev := ""
			if i > 0 {
				prev = string(buf[start:])
			}
			return fmt.Errorf("object %d (after %q): %w", i, truncate(prev), err)
		}
		start, buf = len(buf), next
		ends[i] = len(buf)
	}
	return m.slicePaths(string(buf), ends)
}

// decodeObject reads object i, whose predecessor's path is buf[start:], and
// returns buf with its path appended.
func (m *Map) decodeObject(r *reader, i int, buf []byte, start, nbytes int) ([]byte, error) {
	prevLen := len(buf) - start
	shared := int(r.uvarint("shared prefix", uint64(prevLen)))
	suffix := r.bytes("path", int(r.uvarint("path length", uint64(journal.MaxPathLen-shared))))
	switch {
	case r.err != nil:
		return nil, r.err
	case len(suffix) == 0:
		return nil, errors.New("path: empty suffix")
	case shared < prevLen && suffix[0] <= buf[start+shared]:
		return nil, errors.New("path: not after the previous path, or shared prefix not the longest")
	case len(buf)+shared+len(suffix) > MaxPathBytes:
		return nil, fmt.Errorf("paths longer than %d bytes together", MaxPathBytes)
	}
	buf = append(buf, buf[start:start+shared]...)
	buf = append(buf, suffix...)
	f := &m.files[i]
	f.size = int64(r.uvarint("size", math.MaxInt64))
	f.record = int64(r.uvarint("record", math.MaxInt64))
	if r.err == nil && f.record >= m.records {
		return nil, fmt.Errorf("record %d: not below the map's %d records", f.record, m.records)
	}
	copy(f.sha256[:], r.bytes("sha256", 32))
	holders := r.bytes("holders", nbytes)
	if r.err != nil {
		return nil, r.err
	}
	if err := m.setHolders(i, holders); err != nil {
		return nil, err
	}
	return buf, nil
}

func (m *Map) setHolders(i int, b []byte) error {
	if rest := m.slots % 8; rest != 0 && b[len(b)-1]>>rest != 0 {
		return fmt.Errorf("holders: bits set beyond the %d access points", m.slots)
	}
	w := m.holders[i*m.words : (i+1)*m.words]
	for k, x := range b {
		w[k/8] |= uint64(x) << (8 * (k % 8))
	}
	return nil
}

// slicePaths sets m.paths from the concatenated paths and checks each.
func (m *Map) slicePaths(all string, ends []int) error {
	m.paths = make([]string, len(ends))
	start := 0
	for i, end := range ends {
		m.paths[i] = all[start:end]
		start = end
		if err := journal.CheckPath(m.paths[i]); err != nil {
			return fmt.Errorf("object %d: %w", i, err)
		}
	}
	m.index = newPathIndex(m.paths)
	return nil
}

func isCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// checkText reports whether s is valid UTF-8 without control characters.
func checkText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// checkPrefix checks a URL prefix as config writes them: one of schemes,
// a host, ending in "/", printable, without spaces.
func checkPrefix(u string, schemes ...string) error {
	rest, ok := "", false
	for _, s := range schemes {
		if rest, ok = strings.CutPrefix(u, s+"://"); ok {
			break
		}
	}
	switch {
	case !ok:
		return fmt.Errorf("scheme must be %s", strings.Join(schemes, " or "))
	case rest == "" || rest[0] == '/':
		return errors.New("no host")
	case !strings.HasSuffix(u, "/"):
		return errors.New("does not end in \"/\"")
	case !checkText(u) || strings.ContainsAny(u, " #?\\"):
		return errors.New("holds a space, control character, '#', '?' or '\\'")
	}
	return nil
}
