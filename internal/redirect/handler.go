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

// A Redirector is the HTTP redirector over a source of maps: an
// http.Handler, and, through Quick, the answer to its most common request
// for servers other than net/http's. It is safe for concurrent use.
type Redirector struct {
	src  func() *availability.Map
	geo  *geo.DB
	opts Options
	page *template.Template // the HTML mirror list
	pool sync.Pool          // *scratch
	ix   atomic.Pointer[index]
}

// index returns the selection index of m, building it when m is new.
func (h *Redirector) index(m *availability.Map) *index {
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
func Handler(src func() *availability.Map, g *geo.DB, opts Options) *Redirector {
	return &Redirector{src: src, geo: g, opts: opts, page: parseListPage()}
}

func (h *Redirector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
func (h *Redirector) special(w http.ResponseWriter, r *http.Request, m *availability.Map, p string) bool {
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
func (h *Redirector) redirect(w http.ResponseWriter, r *http.Request, m *availability.Map, obj availability.Object) {
	client := h.geo.Lookup(ClientIP(r, h.opts.TrustedProxies))
	sc := h.getScratch()
	defer h.pool.Put(sc)
	cs := h.choose(m, obj, client, requestScheme(r, h.opts.TrustedProxies), sc)
	if len(cs) == 0 {
		RecordAnswer(w, Answer{Path: obj.Path, Country: client.Country})
		h.fallback(w, m, r.URL.Path, &obj)
		return
	}
	mirrors := m.Mirrors()
	RecordAnswer(w, Answer{Path: obj.Path, Mirror: mirrors[cs[0].mirror].Name, Country: client.Country})
	sc.appendRedirect(mirrors, cs, &obj)
	setValues(w.Header(), len(cs), sc.values())
	w.WriteHeader(http.StatusFound)
}

// choose ranks, into sc, the mirror to send a request for obj to and its
// alternatives: at most Options.Candidates+1, best first; none when no
// mirror can take it.
func (h *Redirector) choose(m *availability.Map, obj availability.Object, client geo.Location, scheme string, sc *scratch) []cand {
	k := max(h.opts.Candidates, 0) + 1
	sc.cands = rank(h.index(m), obj, client, scheme, h.opts.SelectOptions, k, sc.cands[:0])
	return sc.cands
}

// A scratch is one request's working memory, kept in a pool: the ranked
// candidates and the bytes of the answer's header values.
type scratch struct {
	cands []cand
	b     []byte // the values, one after the other
	ends  []int  // where each value in b ends
}

func (h *Redirector) getScratch() *scratch {
	if s, ok := h.pool.Get().(*scratch); ok {
		return s
	}
	return &scratch{cands: make([]cand, 0, 64), b: make([]byte, 0, 2048), ends: make([]int, 0, 16)}
}

// appendRedirect sets s.b and s.ends to the header values of a redirect to
// cs[0] with the rest of cs as alternatives: the Location, the len(cs)-1
// alternative Links, the describedby Link, Repr-Digest and Digest.
func (s *scratch) appendRedirect(mirrors []availability.Mirror, cs []cand, obj *availability.Object) {
	escaped := escapePath(obj.Path)
	b, ends := s.b[:0], s.ends[:0]
	for i, c := range cs {
		if i > 0 {
			b = append(b, '<')
		}
		b = append(b, mirrors[c.mirror].Access[c.access].URL...)
		b = append(b, escaped...)
		if i > 0 {
			b = appendLinkParams(b, i, mirrors[c.mirror].Country)
		}
		ends = append(ends, len(b))
	}
	b = append(b, "</"...)
	b = append(b, escaped...)
	b = append(b, `.meta4>; rel=describedby; type="application/metalink4+xml"`...)
	ends = append(ends, len(b))
	b, mid := appendDigests(b, obj)
	s.b, s.ends = b, append(ends, mid, len(b))
}

// values returns the values appendRedirect made as strings cut from one,
// in one backing slice with two places left free for setValues: a
// redirect through net/http costs two allocations however many
// alternatives it lists.
func (s *scratch) values() []string {
	all := string(s.b)
	vals := make([]string, len(s.ends)+2)
	start := 0
	for i, end := range s.ends {
		vals[i], start = all[start:end], end
	}
	return vals
}

// noStore is the Cache-Control of every answer chosen for one client.
const noStore = "private, no-store"

// setValues sets the headers of a redirect to n mirrors from the values
// of scratch.values: the Location, n-1 alternatives and the describedby
// Link, the two digests, then, in the two free places, Cache-Control and
// Content-Length.
func setValues(hdr http.Header, n int, vals []string) {
	hdr["Location"] = vals[0:1:1]
	n++ // the describedby Link
	hdr["Link"] = vals[1:n:n]
	hdr["Repr-Digest"], hdr["Digest"] = vals[n:n+1:n+1], vals[n+1:n+2:n+2]
	vals[n+2], vals[n+3] = noStore, "0"
	hdr["Cache-Control"], hdr["Content-Length"] = vals[n+2:n+3:n+3], vals[n+3:n+4:n+4]
}

// eachField calls f with each header field of the redirect to n mirrors
// whose values appendRedirect made, as setValues sets them, but
// Content-Length, which a server sets itself for an empty body. The values
// f gets are valid only during the call.
func (s *scratch) eachField(n int, f func(key string, value []byte)) {
	start := 0
	for i, end := range s.ends {
		key := "Link"
		switch i {
		case 0:
			key = "Location"
		case n + 1:
			key = "Repr-Digest"
		case n + 2:
			key = "Digest"
		}
		f(key, s.b[start:end])
		start = end
	}
	f("Cache-Control", noStoreBytes)
}

var noStoreBytes = []byte(noStore)

// appendLinkParams appends the parameters of an RFC 6249 alternative.
func appendLinkParams(b []byte, pri int, country string) []byte {
	b = append(b, ">; rel=duplicate; pri="...)
	b = strconv.AppendInt(b, int64(pri), 10)
	if len(country) == 2 {
		b = append(b, "; geo="...)
		b = append(b, country[0]|0x20, country[1]|0x20) // ASCII letters to lower case
	}
	return b
}

// appendDigests appends the object's SHA-256 as an RFC 9530 Repr-Digest
// value and then as an RFC 3230 Digest value (which aria2 and others
// check), and returns where the first ends.
func appendDigests(b []byte, obj *availability.Object) ([]byte, int) {
	var sum [44]byte
	base64.StdEncoding.Encode(sum[:], obj.SHA256[:])
	b = append(b, "sha-256=:"...)
	b = append(b, sum[:]...)
	b = append(b, ':')
	mid := len(b)
	b = append(b, "SHA-256="...)
	return append(b, sum[:]...), mid
}

// setDigest sets the object's digest headers.
func setDigest(hdr http.Header, obj *availability.Object) {
	b, mid := appendDigests(make([]byte, 0, 100), obj)
	all := string(b)
	hdr["Repr-Digest"], hdr["Digest"] = []string{all[:mid]}, []string{all[mid:]}
}

// fallback sends the client to the same path at the fall-back server, with
// obj's digest if it is an object. Without a fall-back it answers 503 (no
// map yet) or 404.
func (h *Redirector) fallback(w http.ResponseWriter, m *availability.Map, urlPath string, obj *availability.Object) {
	prefix := h.fallbackPrefix(m)
	hdr := w.Header()
	hdr["Cache-Control"] = []string{noStore}
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
