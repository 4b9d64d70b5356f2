package availability

// # Format (pando availability v2)
//
// A signed map is a signed note (golang.org/x/mod/sumdb/note) followed
// directly by a binary body. The note's text is five lines:
//
//	pando availability v2
//	<origin>
//	<records>
//	<created>
//	<body-length> <body-sha256>
//
// origin is the origin's name (its signing key's name), records the number
// of journal records of the origin's state the map describes, created the
// Unix second the map was compiled, body-length the body's length in bytes
// and body-sha256 its SHA-256 in lowercase hex. Numbers are canonical
// decimal. The note is signed by the hub's own key (made by "pando keygen"),
// not the origin's: the hub vouches for what its checker saw. The body is
// the last body-length bytes of the file, so the note is the rest.
//
// The body is a sequence of fields. uvarint is an unsigned LEB128 varint in
// its shortest form; str is a uvarint length then that many bytes; f64 is
// an IEEE 754 double, little-endian.
//
//	body    = fallback:str nmirrors:uvarint mirror* nobjects:uvarint object*
//	          nlinks:uvarint link*
//	mirror  = name:str weight:uvarint country:str continent:str flags:byte
//	          [lat:f64 lon:f64]  (if flags&1)
//	          asn:uvarint problem:str naccess:uvarint access*
//	access  = kind:byte url:str reachable:byte
//	object  = shared:uvarint suffix:str size:uvarint record:uvarint
//	          sha256:32 bytes holders:ceil(slots/8) bytes
//	link    = path:str target:str
//
// Mirror flags: 1 coordinates follow, 2 checked, 4 trusted; other bits are
// zero. Access kinds: 1 http, 2 https, 3 ftp, strictly increasing within a
// mirror; reachable is 0 or 1. Access points are numbered (their slots) in
// the order they appear, from 0. An object's path is the first shared bytes
// of the previous object's path followed by suffix; shared is exactly the
// length of the two paths' common prefix, so paths are strictly increasing.
// Bit s of holders (byte s/8, bit s%8, least significant first) says slot s
// holds the object; bits beyond the last slot are zero. Links are the
// origin's symlinks, paths strictly increasing, each path and target by the
// signed log's rules (journal.CheckPath, journal.CheckTarget), no path an
// object's.
//
// Version 1 is the same without the links (its body ends after the
// objects); Decode still reads it, as a map without symlinks. Encode writes
// version 2, which a redirector that knows only version 1 refuses: upgrade
// the edges before the hub.
//
// Decode refuses anything Encode would not have written byte for byte, and
// anything beyond the limits below, with an error that names the field.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/config"
	"github.com/pando-mirror/pando/internal/journal"
)

// Header is the first line of every signed map of this format version;
// headerV1 that of the version before it, still read.
const (
	Header   = "pando availability v2"
	headerV1 = "pando availability v1"
)

// Limits on what Decode accepts.
const (
	MaxSize       = 512 << 20 // bytes in a signed map
	MaxObjects    = 1 << 22   // objects in a map
	MaxLinks      = 1 << 20   // symlinks in a map
	MaxPathBytes  = 1 << 30   // bytes of all paths together
	maxNoteSize   = 16 << 10  // bytes in the signed note
	maxOriginLen  = 255
	maxURLLen     = 2048
	maxProblemLen = 1024
	maxAccess     = 3 // http, https, ftp
)

const (
	flagCoords  = 1
	flagChecked = 2
	flagTrusted = 4
)

// Encode returns m as a signed map, its note signed by signer.
func Encode(m *Map, signer note.Signer) ([]byte, error) {
	body, err := encodeBody(m)
	if err != nil {
		return nil, fmt.Errorf("encode availability map: %w", err)
	}
	sum := sha256.Sum256(body)
	text := fmt.Sprintf("%s\n%s\n%d\n%d\n%d %s\n", Header, m.origin, m.records, m.created.Unix(), len(body), hex.EncodeToString(sum[:]))
	if err := checkOrigin(m.origin); err != nil {
		return nil, fmt.Errorf("encode availability map: %w", err)
	}
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign availability map: %w", err)
	}
	if len(signed)+len(body) > MaxSize {
		return nil, fmt.Errorf("encode availability map: %d bytes, more than %d", len(signed)+len(body), MaxSize)
	}
	return append(signed, body...), nil
}

func encodeBody(m *Map) ([]byte, error) {
	if len(m.paths) > MaxObjects {
		return nil, fmt.Errorf("%d objects, more than %d", len(m.paths), MaxObjects)
	}
	nbytes := (m.slots + 7) / 8
	b := make([]byte, 0, 64+len(m.mirrors)*256+len(m.paths)*(48+nbytes))
	b = appendString(b, m.fallback)
	b = binary.AppendUvarint(b, uint64(len(m.mirrors)))
	for i := range m.mirrors {
		var err error
		if b, err = appendMirror(b, &m.mirrors[i]); err != nil {
			return nil, err
		}
	}
	if len(m.links) > MaxLinks {
		return nil, fmt.Errorf("%d symlinks, more than %d", len(m.links), MaxLinks)
	}
	b = binary.AppendUvarint(b, uint64(len(m.paths)))
	prev := ""
	for i, p := range m.paths {
		shared := commonPrefix(prev, p)
		b = binary.AppendUvarint(b, uint64(shared))
		b = appendString(b, p[shared:])
		b = binary.AppendUvarint(b, uint64(m.files[i].size))
		b = binary.AppendUvarint(b, uint64(m.files[i].record))
		b = append(b, m.files[i].sha256[:]...)
		for k := 0; k < nbytes; k++ {
			b = append(b, byte(m.holders[i*m.words+k/8]>>(8*(k%8))))
		}
		prev = p
	}
	b = binary.AppendUvarint(b, uint64(len(m.links)))
	for _, l := range m.links {
		b = appendString(appendString(b, l.Path), l.Target)
	}
	return b, nil
}

func appendMirror(b []byte, mi *Mirror) ([]byte, error) {
	if len(mi.Access) > maxAccess {
		return nil, fmt.Errorf("mirror %q: %d access points, more than %d", mi.Name, len(mi.Access), maxAccess)
	}
	b = appendString(b, mi.Name)
	b = binary.AppendUvarint(b, uint64(mi.Weight))
	b = appendString(b, mi.Country)
	b = appendString(b, mi.Continent)
	var flags byte
	if mi.HasCoords {
		flags |= flagCoords
	}
	if mi.Checked {
		flags |= flagChecked
	}
	if mi.Trusted {
		flags |= flagTrusted
	}
	b = append(b, flags)
	if mi.HasCoords {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(mi.Lat))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(mi.Lon))
	}
	b = binary.AppendUvarint(b, uint64(mi.ASN))
	b = appendString(b, mi.Problem)
	b = binary.AppendUvarint(b, uint64(len(mi.Access)))
	for _, a := range mi.Access {
		code := kindCode(a.Kind)
		if code == 0 {
			return nil, fmt.Errorf("mirror %q: access kind %q cannot be encoded", mi.Name, a.Kind)
		}
		b = append(b, code)
		b = appendString(b, a.URL)
		b = append(b, boolByte(a.Reachable))
	}
	return b, nil
}

// kindCode returns the body's code for an access kind, 0 if it has none.
func kindCode(k config.AccessKind) byte {
	switch k {
	case config.AccessHTTP:
		return 1
	case config.AccessHTTPS:
		return 2
	case config.AccessFTP:
		return 3
	}
	return 0
}

// kindOf returns the access kind with code c, "" if none.
func kindOf(c byte) config.AccessKind {
	switch c {
	case 1:
		return config.AccessHTTP
	case 2:
		return config.AccessHTTPS
	case 3:
		return config.AccessFTP
	}
	return ""
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// A header is the parsed text of a signed map's note.
type header struct {
	version int // 1 or 2
	origin  string
	records int64
	created time.Time
	bodyLen int
	bodySum [32]byte
}

// Decode verifies a signed map with v and returns the map. Signature errors
// from package note (*note.UnverifiedNoteError, *note.InvalidSignatureError)
// are wrapped, so errors.As finds them.
func Decode(data []byte, v note.Verifier) (*Map, error) {
	m, err := decode(data, v)
	if err != nil {
		return nil, fmt.Errorf("availability map: %w", err)
	}
	return m, nil
}

func decode(data []byte, v note.Verifier) (*Map, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%d bytes, more than %d", len(data), MaxSize)
	}
	end := bytes.Index(data[:min(len(data), maxNoteSize)], []byte("\n\n"))
	if end < 0 {
		return nil, errors.New("no signed note at the start")
	}
	h, err := parseHeader(string(data[:end+1]))
	if err != nil {
		return nil, err
	}
	split := signaturesEnd(data, end+2)
	if split < 0 {
		return nil, fmt.Errorf("signed note longer than %d bytes", maxNoteSize)
	}
	if h.bodyLen != len(data)-split {
		return nil, fmt.Errorf("body of %d bytes announced, %d bytes follow the signed note", h.bodyLen, len(data)-split)
	}
	n, err := note.Open(data[:split], note.VerifierList(v))
	if err != nil {
		return nil, err
	}
	if n.Text != string(data[:end+1]) {
		return nil, errors.New("signed note is malformed: blank line inside its signatures")
	}
	body := data[split:]
	if sha256.Sum256(body) != h.bodySum {
		return nil, errors.New("body does not match the SHA-256 its signed note names")
	}
	m := &Map{origin: h.origin, records: h.records, created: h.created}
	if err := m.decodeBody(body, h.version); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return m, nil
}

// signaturesEnd returns the offset just after the signature lines that
// start at data[i:] (each begins with "— "), or -1 if the note would be
// longer than maxNoteSize.
func signaturesEnd(data []byte, i int) int {
	for bytes.HasPrefix(data[i:], []byte("\u2014 ")) {
		nl := bytes.IndexByte(data[i:min(len(data), maxNoteSize)], '\n')
		if nl < 0 {
			return -1
		}
		i += nl + 1
	}
	return i
}

// parseHeader parses the note text (with its final newline) of a signed map.
func parseHeader(text string) (header, error) {
	var h header
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	switch {
	case len(lines) > 0 && lines[0] == Header:
		h.version = 2
	case len(lines) > 0 && lines[0] == headerV1:
		h.version = 1
	default:
		first, _, _ := strings.Cut(text, "\n")
		return h, fmt.Errorf("first line %q: not %q", truncate(first), Header)
	}
	if len(lines) != 5 {
		return h, fmt.Errorf("note text has %d lines, want 5", len(lines))
	}
	h.origin = lines[1]
	if err := checkOrigin(h.origin); err != nil {
		return h, err
	}
	var err error
	if h.records, err = parseNumber("record count", lines[2], journal.MaxRecords); err != nil {
		return h, err
	}
	created, err := parseNumber("creation time", lines[3], 1<<53-1)
	if err != nil {
		return h, err
	}
	h.created = time.Unix(created, 0).UTC()
	length, sum, ok := strings.Cut(lines[4], " ")
	n, err := parseNumber("body length", length, MaxSize)
	if err != nil {
		return h, err
	}
	h.bodyLen = int(n)
	raw, herr := hex.DecodeString(sum)
	if !ok || herr != nil || len(raw) != 32 || hex.EncodeToString(raw) != sum {
		return h, fmt.Errorf("body hash %q: want 64 lowercase hex digits", truncate(sum))
	}
	h.bodySum = [32]byte(raw)
	return h, nil
}

func checkOrigin(s string) error {
	if s == "" || len(s) > maxOriginLen || !utf8.ValidString(s) || strings.ContainsAny(s, " +\n\t") {
		return fmt.Errorf("origin %q: want a key name of 1 to %d bytes without spaces or '+'", truncate(s), maxOriginLen)
	}
	return nil
}

// parseNumber parses canonical decimal from 0 to max.
func parseNumber(what, s string, max int64) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > max || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%s %q: want a number from 0 to %d", what, truncate(s), max)
	}
	return n, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
