// Package redirect owns sending each download to a good mirror: the
// selection of mirrors for one request (Select, a nearly pure function over
// an availability map and the client's location), the HTTP redirector that
// answers with it (Handler), and the edge's loading of a signed map
// (Source).
//
// The Handler answers, for a GET or HEAD of /path:
//
//   - an object of the map: 302 to the best mirror, with RFC 6249
//     "Link: rel=duplicate" alternatives, the object's digest (RFC 9530
//     Repr-Digest and RFC 3230 Digest) and "Cache-Control: private,
//     no-store", so no shared cache keeps a redirect chosen for one client;
//   - /path?mirrorlist: the mirrors for the object as HTML, or as JSON with
//     "Accept: application/json" or ?mirrorlist=json;
//   - /path.meta4, when /path is an object and /path.meta4 is not: a
//     Metalink v4 document (RFC 5854) listing the mirrors with the hash;
//   - /mirrors.json, unless the tree has a file of that name: the healthy
//     mirrors with their weights, for client-side selection;
//   - anything else, and objects no mirror holds: 302 to the fall-back.
//
// A writer that implements Recorder learns where each request for an
// object was sent, for counting.
//
// docs/REDIRECT.md describes the algorithm and every response.
package redirect

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pando-mirror/pando/internal/availability"
	"github.com/pando-mirror/pando/internal/geo"
)

// Options configure a Handler.
type Options struct {
	// Fallback is the URL prefix (ending in "/") of the server that gets
	// requests no mirror can serve; "" uses the map's.
	Fallback string
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed.
	TrustedProxies []netip.Prefix
	// Candidates is the number of alternatives in Link headers.
	Candidates int
	SelectOptions
}

type handler struct {
	src  func() *availability.Map
	geo  *geo.DB
	opts Options
	page *template.Template // the HTML mirror list
	pool sync.Pool          // *[]cand
	ix   atomic.Pointer[index]
}

// index returns the selection index of m, building it when m is new.
func (h *handler) index(m *availability.Map) *index {
	if ix := h.ix.Load(); ix != nil && ix.m == m {
		return ix
	}
	ix := newIndex(m, h.opts.AllowInsecure, true)
	h.ix.Store(ix)
	return ix
}

// Handler returns the redirector over the maps src returns (nil while there
// is none: then every request goes to the fall-back). g may be nil: the
// choice is then by weight alone.
func Handler(src func() *availability.Map, g *geo.DB, opts Options) http.Handler {
	return &handler{src: src, geo: g, opts: opts, page: parseListPage()}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	p, dir, err := requestPath(r.URL)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m := h.src()
	if m == nil || p == "" || dir {
		h.fallback(w, m, r.URL.Path, nil)
		return
	}
	obj, ok := m.Lookup(p)
	if !ok { // a path through the origin's symlinks names the file they lead to
		p = m.FollowLinks(p)
		obj, ok = m.Lookup(p)
	}
	if ok {
		if list, ok := mirrorlistFormat(r); ok {
			h.mirrorlist(w, r, m, obj, list)
			return
		}
		h.redirect(w, r, m, obj)
		return
	}
	if h.special(w, r, m, p) {
		return
	}
	h.fallback(w, m, r.URL.Path, nil)
}

// special answers the endpoints that are not objects; it reports whether
// p was one.
func (h *handler) special(w http.ResponseWriter, r *http.Request, m *availability.Map, p string) bool {
	if p == "mirrors.json" {
		writeMirrorsJSON(w, m)
		return true
	}
	if base, ok := strings.CutSuffix(p, ".meta4"); ok {
		if obj, ok := m.Lookup(base); ok {
			h.metalink(w, r, m, obj)
			return true
		}
	}
	if _, ok := mirrorlistFormat(r); ok {
		http.Error(w, "no such file: "+p, http.StatusNotFound)
		return true
	}
	return false
}

// redirect sends the client to the best mirror holding obj.
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, m *availability.Map, obj availability.Object) {
	client := h.geo.Lookup(ClientIP(r, h.opts.TrustedProxies))
	buf := h.getBuf()
	defer h.pool.Put(buf)
	k := max(h.opts.Candidates, 0) + 1
	cs := rank(h.index(m), obj, client, requestScheme(r, h.opts.TrustedProxies), h.opts.SelectOptions, k, (*buf)[:0])
	*buf = cs
	if len(cs) == 0 {
		RecordAnswer(w, Answer{Path: obj.Path, Country: client.Country})
		h.fallback(w, m, r.URL.Path, &obj)
		return
	}
	mirrors := m.Mirrors()
	RecordAnswer(w, Answer{Path: obj.Path, Mirror: mirrors[cs[0].mirror].Name, Country: client.Country})
	setRedirect(w.Header(), mirrors, cs, &obj)
	w.WriteHeader(http.StatusFound)
}

func (h *handler) getBuf() *[]cand {
	if b, ok := h.pool.Get().(*[]cand); ok {
		return b
	}
	b := make([]cand, 0, 64)
	return &b
}

// setRedirect sets the headers of a redirect to cs[0] with the rest of cs
// as alternatives. The values are cut from one string built at once and
// share one backing slice: a redirect costs two allocations however many
// alternatives it lists.
func setRedirect(hdr http.Header, mirrors []availability.Mirror, cs []cand, obj *availability.Object) {
	escaped := escapePath(obj.Path)
	size := 200 + len(escaped)
	for _, c := range cs {
		size += len(mirrors[c.mirror].Access[c.access].URL) + len(escaped) + 40
	}
	var b strings.Builder
	b.Grow(size)
	var endsBuf [8]int // where each value ends; enough for the default candidates
	ends := endsBuf[:0]
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('<')
		}
		b.WriteString(mirrors[c.mirror].Access[c.access].URL)
		b.WriteString(escaped)
		if i > 0 {
			writeLinkParams(&b, i, mirrors[c.mirror].Country)
		}
		ends = append(ends, b.Len())
	}
	b.WriteString("</")
	b.WriteString(escaped)
	b.WriteString(`.meta4>; rel=describedby; type="application/metalink4+xml"`)
	ends = append(ends, b.Len())
	ends = append(ends, writeDigests(&b, obj), b.Len())
	setValues(hdr, len(cs), cutValues(b.String(), ends))
}

// cutValues returns the values that end at ends in all, and two more
// places.
func cutValues(all string, ends []int) []string {
	vals := make([]string, len(ends)+2)
	start := 0
	for i, end := range ends {
		vals[i], start = all[start:end], end
	}
	return vals
}

// setValues sets a redirect's headers from vals: the Location, n-1
// alternatives and the describedby Link, the two digests, then the two
// free places for Cache-Control and Content-Length.
func setValues(hdr http.Header, n int, vals []string) {
	hdr["Location"] = vals[0:1:1]
	n++ // the describedby Link
	hdr["Link"] = vals[1:n:n]
	hdr["Repr-Digest"], hdr["Digest"] = vals[n:n+1:n+1], vals[n+1:n+2:n+2]
	vals[n+2], vals[n+3] = "private, no-store", "0"
	hdr["Cache-Control"], hdr["Content-Length"] = vals[n+2:n+3:n+3], vals[n+3:n+4:n+4]
}

// writeLinkParams writes the parameters of an RFC 6249 alternative.
func writeLinkParams(b *strings.Builder, pri int, country string) {
	b.WriteString(">; rel=duplicate; pri=")
	var num [20]byte
	b.Write(strconv.AppendInt(num[:0], int64(pri), 10))
	if len(country) == 2 {
		b.WriteString("; geo=")
		b.WriteByte(country[0] | 0x20) // ASCII letters to lower case
		b.WriteByte(country[1] | 0x20)
	}
}

// writeDigests writes the object's SHA-256 as an RFC 9530 Repr-Digest
// value and then as an RFC 3230 Digest value (which aria2 and others
// check), and returns where the first ends.
func writeDigests(b *strings.Builder, obj *availability.Object) int {
	var sum [44]byte
	base64.StdEncoding.Encode(sum[:], obj.SHA256[:])
	b.WriteString("sha-256=:")
	b.Write(sum[:])
	b.WriteByte(':')
	end := b.Len()
	b.WriteString("SHA-256=")
	b.Write(sum[:])
	return end
}

// setDigest sets the object's digest headers.
func setDigest(hdr http.Header, obj *availability.Object) {
	var b strings.Builder
	b.Grow(100)
	mid := writeDigests(&b, obj)
	all := b.String()
	hdr["Repr-Digest"], hdr["Digest"] = []string{all[:mid]}, []string{all[mid:]}
}

// fallback sends the client to the same path at the fall-back server, with
// obj's digest if it is an object. Without a fall-back it answers 503 (no
// map yet) or 404.
func (h *handler) fallback(w http.ResponseWriter, m *availability.Map, urlPath string, obj *availability.Object) {
	prefix := h.fallbackPrefix(m)
	hdr := w.Header()
	hdr["Cache-Control"] = []string{"private, no-store"}
	switch {
	case prefix == "" && m == nil:
		http.Error(w, "no availability map loaded yet", http.StatusServiceUnavailable)
		return
	case prefix == "":
		http.Error(w, "no mirror serves this file and no fall-back is configured", http.StatusNotFound)
		return
	}
	if obj != nil {
		setDigest(hdr, obj)
	}
	hdr["Location"] = []string{prefix + escapePath(strings.TrimPrefix(urlPath, "/"))}
	hdr["Content-Length"] = []string{"0"}
	w.WriteHeader(http.StatusFound)
}
