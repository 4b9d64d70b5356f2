package redirect

import (
	"net/netip"
	"strings"

	"github.com/pando-mirror/pando/internal/journal"
)

// A QuickRequest is what Quick reads of a request.
type QuickRequest struct {
	Method string // as sent
	Target string // the request target (path and query) as sent, undecoded
	Peer   netip.Addr
	TLS    bool
	// Header returns the values of a request header; Quick asks only
	// for X-Forwarded-For and X-Forwarded-Proto, and only when Peer is a
	// trusted proxy.
	Header func(name string) []string
}

// Quick answers, for an HTTP server other than net/http's, the request a
// redirector sees most: a GET or HEAD of an object of the map by a path
// that needs no decoding, without a query, that some mirror can take. It
// then calls set with every header field of the 302 (all but
// Content-Length, which is 0; a value is valid only during its call) and
// returns where the request went. For
// every other request it returns false having called nothing, and the
// caller gives the request to ServeHTTP instead. Either way the client
// gets the same answer.
func (h *Redirector) Quick(req *QuickRequest, set func(key string, value []byte)) (Answer, bool) {
	if req.Method != "GET" && req.Method != "HEAD" {
		return Answer{}, false
	}
	p, ok := quickPath(req.Target)
	if !ok {
		return Answer{}, false
	}
	m := h.src()
	if m == nil {
		return Answer{}, false
	}
	obj, ok := m.Lookup(p)
	if !ok {
		return Answer{}, false
	}
	trusted := h.opts.TrustedProxies
	client := h.geo.Lookup(clientAddr(req.Peer, func() []string { return req.Header("X-Forwarded-For") }, trusted))
	scheme := schemeOf(req.TLS, req.Peer, func() string {
		if v := req.Header("X-Forwarded-Proto"); len(v) > 0 {
			return v[0]
		}
		return ""
	}, trusted)
	sc := h.getScratch()
	defer h.pool.Put(sc)
	cs := h.choose(m, obj, client, scheme, sc)
	if len(cs) == 0 {
		return Answer{}, false // the fall-back: rare, and ServeHTTP's to say
	}
	mirrors := m.Mirrors()
	sc.appendRedirect(mirrors, cs, &obj)
	sc.eachField(len(cs), set)
	return Answer{Path: obj.Path, Mirror: mirrors[cs[0].mirror].Name, Country: client.Country}, true
}

// quickPath returns the tree path of a request target that names it
// literally: one that is an absolute path without a query, a fragment,
// percent-encoding or a trailing slash, and that requestPath would accept
// as it is (decoding such a target changes nothing). Every other target is
// left to ServeHTTP.
func quickPath(target string) (string, bool) {
	p, ok := strings.CutPrefix(target, "/")
	if !ok || len(p) > journal.MaxPathLen+1 || !validPath(p, true) {
		return "", false
	}
	return p, true
}
