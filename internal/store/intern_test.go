package store

import (
	"testing"
	"unsafe"
)

func same(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// TestInternerGenerations checks that a string stays shared while rounds of
// reads ask for it, and is let go after a round that does not.
func TestInternerGenerations(t *testing.T) {
	var in interner
	copyOf := func(s string) []byte { return []byte(s) }
	in.reading("a")
	first := in.bytes(copyOf("pool/x.deb"))
	in.reading("b")
	if got := in.bytes(copyOf("pool/x.deb")); !same(got, first) {
		t.Fatal("two mirrors' states in one round do not share a path")
	}
	in.reading("a") // a new round
	if got := in.bytes(copyOf("pool/x.deb")); !same(got, first) {
		t.Fatal("the next round does not share the path of the round before")
	}
	in.reading("a") // a round that does not ask for it
	in.bytes(copyOf("pool/y.deb"))
	in.reading("a")
	if got := in.bytes(copyOf("pool/x.deb")); same(got, first) || got != "pool/x.deb" {
		t.Errorf("a path no round asked for is still kept, or changed: %q", got)
	}
}
