package store

import "sync"

// maxInterned bounds an interner: past it, it starts again empty, so paths
// that left the tree are not kept for ever.
const maxInterned = 1 << 20

// An interner hands out one string for all equal strings it is given, so
// that the states of one object at every mirror share one Path and one
// SHA256: a hub that reads every mirror's states holds each path and hash
// once, and comparing two of them is a pointer comparison. It is safe for
// concurrent use.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

// bytes returns the string equal to b.
func (in *interner) bytes(b []byte) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if s, ok := in.m[string(b)]; ok { // no allocation to look up
		return s
	}
	return in.add(string(b))
}

// same returns prev if it equals b (rows in order repeat their mirror and
// access), else the string equal to b.
func (in *interner) same(prev string, b []byte) string {
	if prev != "" && prev == string(b) {
		return prev
	}
	return in.bytes(b)
}

// string returns the string equal to s.
func (in *interner) string(s string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if t, ok := in.m[s]; ok {
		return t
	}
	return in.add(s)
}

func (in *interner) add(s string) string {
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[string]string)
	}
	in.m[s] = s
	return s
}

// state returns o with its strings interned.
func (in *interner) state(o ObjectState) ObjectState {
	o.Mirror, o.Access = in.string(o.Mirror), in.string(o.Access)
	o.Path, o.SHA256 = in.string(o.Path), in.string(o.SHA256)
	return o
}
