package availability

import "strings"

// MirrorOf names the mirror whose access URL is the longest prefix of
// location (a redirect's Location), or "" when none is or m is nil. It
// tries only the access points of location's scheme and host.
func (m *Map) MirrorOf(location string) string {
	if m == nil {
		return ""
	}
	name, best := "", 0
	for _, list := range [][]accessName{m.hosts[hostPart(location)], m.hosts[""]} {
		for _, a := range list {
			if len(a.url) > best && strings.HasPrefix(location, a.url) {
				name, best = a.mirror, len(a.url)
			}
		}
	}
	return name
}

// A hostIndex lists access points by the scheme and host their URL begins
// with (hostPart), URLs without a slash after the host under "", which
// MirrorOf always tries.
type hostIndex map[string][]accessName

type accessName struct{ url, mirror string }

func newHostIndex(mirrors []Mirror) hostIndex {
	ix := hostIndex{}
	for _, mi := range mirrors {
		for _, a := range mi.Access {
			key := hostPart(a.URL) // as for every location that begins with a.URL
			ix[key] = append(ix[key], accessName{url: a.URL, mirror: mi.Name})
		}
	}
	return ix
}

// hostPart returns u up to the slash after its host ("https://host:port"),
// or "" when u has no such slash.
func hostPart(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(u[i+3:], '/')
	if j < 0 {
		return ""
	}
	return u[:i+3+j]
}
