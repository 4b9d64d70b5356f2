package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/pando-mirror/pando/internal/keytest"
)

// fuzzKey is a fixed key, so that seeds signed with it stay valid across runs.
func fuzzKey(t testing.TB) (note.Signer, note.Verifier) {
	seed := sha256.Sum256([]byte("pando checkpoint fuzz key"))
	s, v, _, _ := keytest.From(t, "repo.example.org", bytes.NewReader(seed[:]))
	return s, v
}

// FuzzCheckpointParse checks that Parse never panics and accepts exactly the
// texts Format writes.
func FuzzCheckpointParse(f *testing.F) {
	good := "pando checkpoint v1\nrepo.example.org\n3\n" + exampleHash + "\n1700000600\n"
	for _, s := range []string{
		good,
		"pando checkpoint v1\no\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n0\n",
		strings.Replace(good, "\n3\n", "\n03\n", 1),
		strings.Replace(good, "\n3\n", "\n+3\n", 1),
		strings.Replace(good, "A=\n", "B=\n", 1),
		strings.Replace(good, "v1", "v2", 1),
		strings.ReplaceAll(good, "\n", "\r\n"),
		strings.TrimSuffix(good, "\n"),
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := Parse(text)
		if err != nil {
			return
		}
		if out := c.Format(); !bytes.Equal(out, text) {
			t.Fatalf("Parse(%q) = %+v, which Format writes as %q", text, c, out)
		}
		c2, err := Parse(c.Format())
		if err != nil || !sameCheckpoint(c, c2) {
			t.Fatalf("Parse(Format(%+v)) = %+v, %v", c, c2, err)
		}
	})
}

// FuzzCheckpointOpen checks that Open never panics on arbitrary bytes, and
// that whatever it accepts is a canonical checkpoint of the verifier's origin.
func FuzzCheckpointOpen(f *testing.F) {
	signer, verifier := fuzzKey(f)
	c := Checkpoint{Origin: "repo.example.org", N: 3, Hash: mustHash(f, exampleHash), Time: time.Unix(1700000600, 0)}
	msg, err := Sign(c, signer)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	f.Add(bytes.Replace(msg, []byte("\n3\n"), []byte("\n4\n"), 1))
	f.Add(msg[:len(msg)-10])
	f.Add(c.Format())
	other, _ := note.Sign(&note.Note{Text: "hello\n"}, signer)
	f.Add(other)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := Open(msg, verifier)
		if err != nil {
			return
		}
		if c.Origin != verifier.Name() {
			t.Fatalf("Open accepted a checkpoint of origin %q", c.Origin)
		}
		n, err := note.Open(msg, note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("Open accepted a note that note.Open refuses: %v", err)
		}
		if !bytes.Equal(c.Format(), []byte(n.Text)) {
			t.Fatalf("Open returned %+v for the text %q", c, n.Text)
		}
	})
}
