package store

import "sync"

// maxInterned bounds each generation of an interner.
const maxInterned = 1 << 20

// An interner hands out one string for all equal strings it is given, so
// that the states of one object at every mirror share one Path and one
// SHA256: a hub that reads every mirror's states holds each path and hash
// once, and comparing two of them is a pointer comparison. It is safe for
// concurrent use.
//
// It keeps two generations of strings: a new one begins when the states of
// a mirror are read a second time (the hub reads every mirror's once per
// map it compiles), or when the current one is full, and strings the new
// generation does not ask for are dropped with the one before it. So it
// holds what the latest round of reads used, not every path and hash ever
// seen.
type interner struct {
	mu        sync.Mutex
	cur, prev map[string]string
	read      map[string]bool // mirrors whose states the current generation read
}

// reading notes that the states of mirror are about to be read.
func (in *interner) reading(mirror string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.read[mirror] {
		in.next()
	}
	if in.read == nil {
		in.read = make(map[string]bool)
	}
	in.read[mirror] = true
}

// next begins a new generation.
func (in *interner) next() {
	in.prev, in.cur, in.read = in.cur, nil, nil
}

// bytes returns the string equal to b.
func (in *interner) bytes(b []byte) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if s, ok := in.cur[string(b)]; ok { // no allocation to look up
		return s
	}
	if s, ok := in.prev[string(b)]; ok {
		return in.add(s)
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
	if t, ok := in.cur[s]; ok {
		return t
	}
	if t, ok := in.prev[s]; ok {
		s = t
	}
	return in.add(s)
}

// add puts s in the current generation.
func (in *interner) add(s string) string {
	if len(in.cur) >= maxInterned {
		in.next()
	}
	if in.cur == nil {
		in.cur = make(map[string]string)
	}
	in.cur[s] = s
	return s
}

// state returns o with its strings interned.
func (in *interner) state(o ObjectState) ObjectState {
	o.Mirror, o.Access = in.string(o.Mirror), in.string(o.Access)
	o.Path, o.SHA256 = in.string(o.Path), in.string(o.SHA256)
	return o
}
