package availability

import "strings"

// MirrorOf names the mirror whose access URL is the longest prefix of
// location (a redirect's Location), or "" when none is or m is nil.
func (m *Map) MirrorOf(location string) string {
	if m == nil {
		return ""
	}
	name, best := "", 0
	for _, mi := range m.Mirrors() {
		for _, a := range mi.Access {
			if len(a.URL) > best && strings.HasPrefix(location, a.URL) {
				name, best = mi.Name, len(a.URL)
			}
		}
	}
	return name
}
