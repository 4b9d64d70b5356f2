// Package keytest makes signed-note keys for tests: a fresh one for each
// test, or one drawn from a given source of entropy, so that a test (a fuzz
// target's corpus, say) signs the same bytes on every run.
package keytest

import (
	"crypto/rand"
	"io"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// New returns the signer and verifier of a fresh key named name.
func New(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	s, v, _, _ := From(t, name, rand.Reader)
	return s, v
}

// From returns a key named name drawn from entropy, as a signer and a
// verifier and in its encoded forms (private, public).
func From(t testing.TB, name string, entropy io.Reader) (note.Signer, note.Verifier, string, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(entropy, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v, skey, vkey
}
