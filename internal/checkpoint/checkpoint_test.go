package checkpoint

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/pando-mirror/pando/internal/keytest"
)

// exampleHash is the root over the three records of package journal's doc
// example, as package checkpoint's doc shows it.
const exampleHash = "TRqnAOkpYzoKXO+VphVgybvKiW517c6Anfuz+6Y3FPA="

func mustHash(t testing.TB, s string) tlog.Hash {
	t.Helper()
	h, err := tlog.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newKey returns a fresh signer and verifier named name.
func newKey(t testing.TB, name string) (note.Signer, note.Verifier, string, string) {
	t.Helper()
	return keytest.From(t, name, rand.Reader)
}

func sameCheckpoint(a, b Checkpoint) bool {
	return a.Origin == b.Origin && a.N == b.N && a.Hash == b.Hash && a.Time.Equal(b.Time)
}

func TestFormatParseRoundTrip(t *testing.T) {
	h := mustHash(t, exampleHash)
	tests := []struct {
		name string
		c    Checkpoint
		text string
	}{
		{"doc example", Checkpoint{Origin: "repo.example.org", N: 3, Hash: h, Time: time.Unix(1700000600, 0)},
			"pando checkpoint v1\nrepo.example.org\n3\n" + exampleHash + "\n1700000600\n"},
		{"empty log", Checkpoint{Origin: "o", Time: time.Unix(0, 0)},
			"pando checkpoint v1\no\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n0\n"},
		{"large values", Checkpoint{Origin: "mirror-01.example.net/pool", N: 1 << 40, Hash: h, Time: time.Unix(1<<62, 0)},
			"pando checkpoint v1\nmirror-01.example.net/pool\n1099511627776\n" + exampleHash + "\n4611686018427387904\n"},
		{"longest origin", Checkpoint{Origin: strings.Repeat("o", 255), N: 1, Hash: h, Time: time.Unix(1, 0)},
			"pando checkpoint v1\n" + strings.Repeat("o", 255) + "\n1\n" + exampleHash + "\n1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := tt.c.Format()
			if string(text) != tt.text {
				t.Fatalf("Format() =\n%s\nwant\n%s", text, tt.text)
			}
			c, err := Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			if !sameCheckpoint(c, tt.c) || c.Time.Location() != time.UTC {
				t.Fatalf("Parse = %+v, want %+v in UTC", c, tt.c)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	good := "pando checkpoint v1\nrepo.example.org\n3\n" + exampleHash + "\n1700000600\n"
	lines := strings.SplitAfter(good, "\n")
	with := func(i int, s string) string { // good with line i replaced by s
		l := append([]string(nil), lines...)
		l[i] = s + "\n"
		return strings.Join(l, "")
	}
	// The same 32 bytes as exampleHash, with the unused low bits of the last
	// base64 digit set: decodable, but not how Format writes it.
	altHash := exampleHash[:42] + "B="
	if h, err := tlog.ParseHash(altHash); err != nil || h.String() != exampleHash {
		t.Fatalf("altHash %s does not decode to %s: %v", altHash, exampleHash, err)
	}
	tests := []struct {
		name, text, err string
	}{
		{"wrong version", with(0, "pando checkpoint v2"), `checkpoint header "pando checkpoint v2" is not "pando checkpoint v1"`},
		{"another format", "go.sum database tree\n3\n" + exampleHash + "\n", `checkpoint text does not have 5 lines`},
		{"header with CR", strings.ReplaceAll(good, "\n", "\r\n"), `checkpoint header "pando checkpoint v1\r" is not "pando checkpoint v1"`},
		{"four lines", strings.Join(lines[:4], ""), `checkpoint text does not have 5 lines`},
		{"six lines", good + "extra\n", `checkpoint text does not have 5 lines`},
		{"no final newline", strings.TrimSuffix(good, "\n"), `checkpoint text does not have 5 lines`},
		{"empty", "", `checkpoint text does not have 5 lines`},
		{"empty origin", with(1, ""), `checkpoint origin "" is not a key name`},
		{"origin with space", with(1, "repo example"), `checkpoint origin "repo example" is not a key name`},
		{"origin with plus", with(1, "repo+1"), `checkpoint origin "repo+1" is not a key name`},
		{"origin too long", with(1, strings.Repeat("o", 256)), `checkpoint origin "` + strings.Repeat("o", 64) + `..." is not a key name`},
		{"negative count", with(2, "-1"), `checkpoint record count "-1" is not a number`},
		{"count not a number", with(2, "three"), `checkpoint record count "three" is not a number`},
		{"empty count", with(2, ""), `checkpoint record count "" is not a number`},
		{"count overflow", with(2, "9223372036854775808"), `checkpoint record count "9223372036854775808" is not a number`},
		{"count leading zero", with(2, "03"), `checkpoint text is not in canonical form`},
		{"count plus sign", with(2, "+3"), `checkpoint text is not in canonical form`},
		{"hash not base64", with(3, "not a hash"), `checkpoint root "not a hash" is not a hash`},
		{"hash too short", with(3, exampleHash[:40]), `checkpoint root "` + exampleHash[:40] + `" is not a hash`},
		{"hash in hex", with(3, strings.Repeat("ab", 32)), `checkpoint root "` + strings.Repeat("ab", 32) + `" is not a hash`},
		{"hash non-canonical base64", with(3, altHash), `checkpoint text is not in canonical form`},
		{"negative time", with(4, "-1"), `checkpoint time "-1" is not a number`},
		{"time with fraction", with(4, "1700000600.5"), `checkpoint time "1700000600.5" is not a number`},
		{"time leading zero", with(4, "01700000600"), `checkpoint text is not in canonical form`},
		{"too large", good + strings.Repeat("x", MaxNoteSize+1-len(good)), fmt.Sprintf("checkpoint text of %d bytes exceeds %d", MaxNoteSize+1, MaxNoteSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.text))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.text, c, tt.err)
			}
			if err.Error() != tt.err {
				t.Fatalf("Parse(%q) error\n%s\nwant\n%s", tt.text, err, tt.err)
			}
		})
	}
}

func TestSignOpen(t *testing.T) {
	signer, verifier, _, _ := newKey(t, "repo.example.org")
	c := Checkpoint{Origin: "repo.example.org", N: 3, Hash: mustHash(t, exampleHash), Time: time.Unix(1700000600, 0).UTC()}
	msg, err := Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, append(c.Format(), "\n— repo.example.org "...)) || bytes.Count(msg, []byte("\n— ")) != 1 {
		t.Fatalf("signed checkpoint is not the text and one signature line:\n%s", msg)
	}
	got, err := Open(msg, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if !sameCheckpoint(got, c) {
		t.Fatalf("Open = %+v, want %+v", got, c)
	}

	t.Run("signer for another origin", func(t *testing.T) {
		other := c
		other.Origin = "other.example.org"
		_, err := Sign(other, signer)
		if want := `signing key is for "repo.example.org", checkpoint names origin "other.example.org"`; err == nil || err.Error() != want {
			t.Fatalf("Sign error = %v, want %q", err, want)
		}
	})

	t.Run("another key of the same name", func(t *testing.T) {
		_, v2, _, _ := newKey(t, "repo.example.org")
		_, err := Open(msg, v2)
		var unverified *note.UnverifiedNoteError
		if !errors.As(err, &unverified) {
			t.Fatalf("Open with another key: %v (%T), want *note.UnverifiedNoteError", err, err)
		}
	})

	t.Run("another key of another name", func(t *testing.T) {
		_, v2, _, _ := newKey(t, "evil.example.org")
		_, err := Open(msg, v2)
		var unverified *note.UnverifiedNoteError
		if !errors.As(err, &unverified) {
			t.Fatalf("Open with another key: %v (%T), want *note.UnverifiedNoteError", err, err)
		}
	})

	t.Run("tampered text", func(t *testing.T) {
		bad := bytes.Replace(msg, []byte("\n3\n"), []byte("\n4\n"), 1)
		_, err := Open(bad, verifier)
		ise, ok := err.(*note.InvalidSignatureError) // unchanged, not wrapped
		if !ok {
			t.Fatalf("Open of tampered text: %v (%T), want *note.InvalidSignatureError", err, err)
		}
		if ise.Name != "repo.example.org" || ise.Hash != verifier.KeyHash() {
			t.Fatalf("InvalidSignatureError names %s+%08x", ise.Name, ise.Hash)
		}
	})

	t.Run("tampered signature", func(t *testing.T) {
		bad := bytes.Clone(msg)
		i := len(bad) - 20 // inside the base64 of the signature, past the key hash
		bad[i] = 'A'       // another base64 digit, whatever the signature was
		if msg[i] == 'A' {
			bad[i] = 'B'
		}
		if bad[i] == msg[i] || !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", rune(bad[i])) {
			t.Fatalf("flip produced %q", bad[i])
		}
		_, err := Open(bad, verifier)
		if _, ok := err.(*note.InvalidSignatureError); !ok {
			t.Fatalf("Open with a tampered signature: %v (%T), want *note.InvalidSignatureError", err, err)
		}
	})

	t.Run("no signature", func(t *testing.T) {
		_, err := Open(c.Format(), verifier)
		_, noteErr := note.Open(c.Format(), note.VerifierList(verifier))
		if err == nil || err != noteErr || err.Error() != "malformed note" {
			t.Fatalf("Open of unsigned text: %v, want note's own %v", err, noteErr)
		}
	})

	t.Run("signed text names another origin", func(t *testing.T) {
		other := c
		other.Origin = "other.example.org"
		bad, err := note.Sign(&note.Note{Text: string(other.Format())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(bad, verifier)
		if want := `checkpoint names origin "other.example.org" but is signed by "repo.example.org"`; err == nil || err.Error() != want {
			t.Fatalf("Open error = %v, want %q", err, want)
		}
	})

	t.Run("signed text is not a checkpoint", func(t *testing.T) {
		bad, err := note.Sign(&note.Note{Text: "go.sum database tree\n3\n" + exampleHash + "\n"}, signer)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Open(bad, verifier)
		if want := `checkpoint text does not have 5 lines`; err == nil || err.Error() != want {
			t.Fatalf("Open error = %v, want %q", err, want)
		}
	})

	t.Run("too large", func(t *testing.T) {
		big := append(bytes.Clone(msg), bytes.Repeat([]byte("x"), MaxNoteSize+1-len(msg))...)
		_, err := Open(big, verifier)
		if want := fmt.Sprintf("checkpoint of %d bytes exceeds %d", MaxNoteSize+1, MaxNoteSize); err == nil || err.Error() != want {
			t.Fatalf("Open error = %v, want %q", err, want)
		}
	})
}

func TestCompare(t *testing.T) {
	h1 := mustHash(t, exampleHash)
	h2 := tlog.RecordHash([]byte("another root"))
	at := func(n int64, h tlog.Hash) Checkpoint {
		return Checkpoint{Origin: "repo.example.org", N: n, Hash: h, Time: time.Unix(1700000600, 0)}
	}
	other := at(5, h1)
	other.Origin = "evil.example.org"
	tests := []struct {
		name      string
		have, got Checkpoint
		is        error
		err       string
	}{
		{"first sight", Checkpoint{}, at(5, h1), nil, ""},
		{"same", at(5, h1), at(5, h1), nil, ""},
		{"re-signed later", at(5, h1), func() Checkpoint { c := at(5, h1); c.Time = c.Time.Add(time.Hour); return c }(), nil, ""},
		{"longer", at(5, h1), at(6, h2), nil, ""},
		{"rollback", at(5, h1), at(4, h1), ErrRollback,
			"rollback: checkpoint has fewer records than one already seen: 4 records, previously 5"},
		{"rollback to nothing", at(5, h1), at(0, tlog.Hash{}), ErrRollback,
			"rollback: checkpoint has fewer records than one already seen: 0 records, previously 5"},
		{"fork", at(5, h1), at(5, h2), ErrFork,
			"fork: checkpoint does not extend the one already seen: 5 records with root " + h2.String() + ", previously " + exampleHash},
		{"another origin", at(5, h1), other, ErrFork,
			`fork: checkpoint does not extend the one already seen: origin "evil.example.org", previously "repo.example.org"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Compare(tt.have, tt.got)
			if tt.is == nil {
				if err != nil {
					t.Fatalf("Compare = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.err || !errors.Is(err, tt.is) {
				t.Fatalf("Compare = %v, want %q wrapping %v", err, tt.err, tt.is)
			}
		})
	}
}
